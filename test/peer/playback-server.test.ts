import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { webServerFactory } from '../../src/cli/web-server.js';
import { createPlaybackServer } from '../../src/peer/playback-server.js';

const PACKETS = 10;
/** A segment of TS packets; each packet names its segment and index, so a reader sees where it started. */
function segment(n: number): Buffer {
  const b = Buffer.alloc(PACKETS * 188);
  for (let i = 0; i < PACKETS; i++) {
    b[i * 188] = 0x47;
    b.writeUInt32BE(n, i * 188 + 4);
    b.writeUInt8(i, i * 188 + 8);
  }
  return b;
}
/** Every 5th segment holds a RAP at its 4th packet, like a GOP start inside a piece. */
const rapOf = (n: number): number | null => (n % 5 === 0 ? 3 * 188 : null);

function readBytes(res: IncomingMessage, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      have += c.length;
      if (have >= n) {
        res.off('data', onData);
        res.pause();
        resolve(Buffer.concat(chunks).subarray(0, n));
      }
    };
    res.on('data', onData);
    res.once('error', reject);
  });
}

async function open(url: string): Promise<IncomingMessage> {
  const req = get(url);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  return res;
}

test('a late joiner starts at the latest RAP in the cache, then follows live output', async () => {
  const server = createPlaybackServer({ webServer: webServerFactory(), title: 'Test <channel>' });
  const base = await server.listen();
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  try {
    for (let n = 0; n < 13; n++) server.writeSegment(segment(n), rapOf(n));
    const res = await open(`${base}stream.ts`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'video/mp2t');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    for (let n = 13; n < 16; n++) server.writeSegment(segment(n), rapOf(n));
    const expected = Buffer.concat([segment(10).subarray(3 * 188), segment(11), segment(12), segment(13), segment(14), segment(15)]);
    const got = await readBytes(res, expected.length);
    assert.equal(got[0], 0x47);
    assert.equal(got.readUInt32BE(4), 10, 'first packet is from segment 10');
    assert.equal(got.readUInt8(8), 3, 'at the RAP packet');
    assert.ok(got.equals(expected));
    assert.equal(server.stats().listeners, 1);
    res.destroy();
  } finally {
    await server.close();
  }
});

test('a listener who joins before any RAP waits for one', async () => {
  const server = createPlaybackServer({ webServer: webServerFactory() });
  const base = await server.listen();
  try {
    server.writeSegment(segment(1), null);
    const res = await open(`${base}stream.ts`);
    server.writeSegment(segment(2), null);
    server.writeSegment(segment(5), rapOf(5));
    const got = await readBytes(res, PACKETS * 188 - 3 * 188);
    assert.equal(got.readUInt32BE(4), 5);
    assert.equal(got.readUInt8(8), 3);
    res.destroy();
  } finally {
    await server.close();
  }
});

test('a listener that never reads is dropped and memory stays bounded, while others keep playing', async () => {
  const cap = 256 * 1024;
  const server = createPlaybackServer({ webServer: webServerFactory(), maxListenerQueueBytes: cap });
  const base = await server.listen();
  const { port } = new URL(base);
  try {
    server.writeSegment(segment(0), rapOf(0));
    const good = await open(`${base}stream.ts`);
    let goodBytes = 0;
    good.on('data', (c: Buffer) => (goodBytes += c.length));

    const stuck = connect(Number(port), '127.0.0.1');
    await once(stuck, 'connect');
    stuck.pause();
    stuck.write(`GET /stream.ts HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    while (server.stats().listeners < 2) await new Promise((r) => setImmediate(r));

    const dropped = new Promise<void>((resolve) => (server.onDrop = () => resolve()));
    let written = 0;
    let n = 1;
    while (server.stats().dropped === 0) {
      assert.ok(written < 256 * 1024 * 1024, 'never dropped');
      // ~30 KB per turn of the event loop, a piece at a time as the swarm writes: the reading client keeps up.
      const s = Buffer.concat(Array.from({ length: 16 }, () => segment(n)));
      server.writeSegment(s, rapOf(n++));
      written += s.length;
      await new Promise((r) => setImmediate(r));
    }
    await dropped;
    const stats = server.stats();
    assert.equal(stats.dropped, 1);
    assert.equal(stats.listeners, 1, 'the reading listener stays');
    assert.ok(stats.cachedBytes <= cap / 2, `cache ${stats.cachedBytes} bytes`);
    assert.ok(goodBytes > 0);
    stuck.destroy();
    good.destroy();
  } finally {
    await server.close();
  }
});

test('status.json serves the status callback; a failing callback is a clean 500', async () => {
  let fail = false;
  const server = createPlaybackServer({
    webServer: webServerFactory(),
    status: () => {
      if (fail) throw new Error('secret detail');
      return { peers: 3, continuity: 1 };
    },
  });
  const base = await server.listen();
  try {
    const ok = await fetch(`${base}status.json`);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await ok.json(), { peers: 3, continuity: 1 });
    fail = true;
    const bad = await fetch(`${base}status.json`);
    assert.equal(bad.status, 500);
    assert.doesNotMatch(await bad.text(), /secret/);
  } finally {
    await server.close();
  }
});

test('the page names the stream and how to open it; unknown paths are 404, other methods 405', async () => {
  const server = createPlaybackServer({ webServer: webServerFactory(), title: 'News <live>' });
  const base = await server.listen();
  try {
    const page = await fetch(base);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /News &#60;live&#62;/);
    assert.match(html, /stream\.ts/);
    assert.match(html, /status\.json/);
    assert.match(html, /vlc/);
    assert.match(html, /mpv/);
    assert.match(html, /ffplay/);
    assert.equal((await fetch(`${base}nope`)).status, 404);
    assert.equal((await fetch(`${base}stream.ts`, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
});

test('close ends open streams so players see the end', async () => {
  const server = createPlaybackServer({ webServer: webServerFactory() });
  const base = await server.listen();
  server.writeSegment(segment(0), 0);
  const res = await open(`${base}stream.ts`);
  res.resume();
  const ended = once(res, 'end');
  await server.close();
  await ended;
  assert.equal(server.stats().listeners, 0);
});

test('a RAP offset outside the segment is a caller bug', async () => {
  const server = createPlaybackServer({ webServer: webServerFactory() });
  assert.throws(() => server.writeSegment(segment(0), PACKETS * 188), RangeError);
  await server.close();
});
