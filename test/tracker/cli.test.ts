import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { registerTrackerCommand } from '../../src/cli/tracker.js';
import { httpGet, Recorder, startFakeControl, SECRET } from './helpers.js';

const ENV = ['GATECAST_TRACKER_SECRET', 'GATECAST_ADMIN_PASSWORD', 'GATECAST_CONTROL'] as const;

function program(errors: string[]): Command {
  const p = new Command('gatecast').exitOverride();
  p.configureOutput({ writeErr: (s) => errors.push(s), writeOut: () => undefined });
  registerTrackerCommand(p);
  return p;
}

describe('gatecast tracker (CLI)', () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const k of ENV) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
  });
  afterEach(() => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('exits 2 with a clear message without a secret or a control URL', async () => {
    const errors: string[] = [];
    await assert.rejects(
      program(errors).parseAsync(['tracker', '--control', 'http://127.0.0.1:1'], { from: 'user' }),
      (err: unknown) => err instanceof CommanderError && err.exitCode === 2,
    );
    assert.match(errors.join(''), /GATECAST_TRACKER_SECRET/);
    process.env['GATECAST_TRACKER_SECRET'] = 's';
    process.env['GATECAST_ADMIN_PASSWORD'] = 's';
    await assert.rejects(
      program(errors).parseAsync(['tracker', '--control', 'http://127.0.0.1:1'], { from: 'user' }),
      (err: unknown) => err instanceof CommanderError && err.exitCode === 2,
    );
    assert.match(errors.join(''), /must differ from GATECAST_ADMIN_PASSWORD/);
    delete process.env['GATECAST_ADMIN_PASSWORD'];
    await assert.rejects(
      program(errors).parseAsync(['tracker'], { from: 'user' }),
      (err: unknown) => err instanceof CommanderError && err.exitCode === 2,
    );
    assert.match(errors.join(''), /--control URL or GATECAST_CONTROL/);
    await assert.rejects(program(errors).parseAsync(['tracker', '--control', 'x', '--port', 'abc'], { from: 'user' }), CommanderError);
  });

  it('starts, connects to the control server, and stops on SIGINT', async (t) => {
    const control = await startFakeControl();
    process.env['GATECAST_TRACKER_SECRET'] = SECRET;
    process.env['GATECAST_CONTROL'] = control.url;
    const logged = new Recorder<string>();
    const lines = logged.items;
    t.mock.method(console, 'log', (...args: unknown[]) => logged.push(args.join(' ')));
    const before = new Set(process.listeners('SIGINT'));
    await program([]).parseAsync(['tracker', '--port', '0'], { from: 'user' });
    const sigint = process.listeners('SIGINT').find((l) => !before.has(l));
    const sigterm = process.listeners('SIGTERM').at(-1);
    assert.ok(sigint, 'a SIGINT handler was installed');
    assert.match(lines[0] ?? '', /^tracker listening on http:\/\/127\.0\.0\.1:\d+ \(announce: http:\/\/127\.0\.0\.1:\d+\/announce, ws: ws:\/\/127\.0\.0\.1:\d+\/ws\)$/);
    assert.equal(lines.at(-1), 'connected to control server');
    const base = /on (\S+) /.exec(lines[0] ?? '')?.[1] ?? '';
    assert.equal((await httpGet(`${base}/`)).status, 200);
    process.removeListener('SIGINT', sigint);
    if (sigterm) process.removeListener('SIGTERM', sigterm);
    (sigint as () => void)();
    await logged.waitFor((l) => l === 'tracker stopped');
    await control.linksClosed.waitFor(() => true);
    await assert.rejects(httpGet(`${base}/`), /ECONNREFUSED/);
    await control.close();
  });
});
