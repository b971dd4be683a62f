/** The password prompt of `gatecast login`: nothing echoed on a terminal, only the first line of piped stdin. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readPassword } from '../../src/cli/login.js';

/** A stand-in terminal: a stream with isTTY and a raw mode switch that records its state. */
function fakeTty(): PassThrough & { isTTY: boolean; raw: boolean[]; setRawMode(on: boolean): void } {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; raw: boolean[]; setRawMode(on: boolean): void };
  s.isTTY = true;
  s.raw = [];
  s.setRawMode = (on: boolean) => void s.raw.push(on);
  return s;
}

function sink(): PassThrough & { text: () => string } {
  const out = new PassThrough() as PassThrough & { text: () => string };
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  out.text = () => text;
  return out;
}

describe('readPassword', () => {
  it('on a terminal: raw mode (no echo) while typing, backspace edits, Enter ends, and only the prompt is written', async () => {
    const tty = fakeTty();
    const out = sink();
    const p = readPassword('password: ', tty as unknown as NodeJS.ReadStream, out as unknown as NodeJS.WriteStream);
    tty.write('s3cret');
    tty.write('x\u007f\r');
    assert.equal(await p, 's3cret');
    assert.deepEqual(tty.raw, [true, false]);
    assert.equal(out.text(), 'password: \n');
  });

  it('on a terminal: Ctrl-C cancels', async () => {
    const tty = fakeTty();
    const p = readPassword('password: ', tty as unknown as NodeJS.ReadStream, sink() as unknown as NodeJS.WriteStream);
    tty.write('abc\u0003');
    await assert.rejects(p, /cancelled/);
    assert.deepEqual(tty.raw, [true, false]);
  });

  it('from a pipe: the first line, without its line ending', async () => {
    const pipe = new PassThrough();
    const out = sink();
    const p = readPassword('password: ', pipe as unknown as NodeJS.ReadStream, out as unknown as NodeJS.WriteStream);
    pipe.end('pw with spaces\r\nsecond line\n');
    assert.equal(await p, 'pw with spaces');
    assert.equal(out.text(), '', 'no prompt on a pipe');
  });
});
