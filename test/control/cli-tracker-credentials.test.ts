/**
 * Trackers' own credentials from the command line: `gatecast admin trackers
 * credentials add|list|remove` against a control server, `control
 * --no-shared-tracker-secret` (no shared secret needed, the shared one
 * refused), and `tracker` refusing an --id its credential is not for.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { Command } from 'commander';
import { DEFAULTS } from '../../src/core/config.js';
import { registerAdminCommand, type AdminIo } from '../../src/cli/admin.js';
import { ADMIN_PASSWORD, FakeTracker, startServer, type Harness } from './helpers.js';

const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;

async function adminCli(args: string[], env: Record<string, string | undefined>): Promise<{ out: string; err: string; code: number }> {
  const r = { out: '', err: '', code: 0 };
  const io: AdminIo = { out: (t) => void (r.out += t), err: (t) => void (r.err += t), env, setExitCode: (c) => void (r.code = c) };
  const program = new Command().exitOverride();
  registerAdminCommand(program, io);
  await program.parseAsync(['admin', ...args], { from: 'user' });
  return r;
}

async function upgradeStatus(url: string, bearer: string): Promise<number> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`, { headers: { authorization: `Bearer ${bearer}` } });
  ws.on('error', () => undefined);
  const status = await Promise.race([
    once(ws, 'open').then(() => 101),
    (once(ws, 'unexpected-response') as Promise<[unknown, IncomingMessage]>).then(([, res]) => res.statusCode ?? 0),
  ]);
  ws.terminate();
  return status;
}

describe('gatecast admin trackers credentials', { timeout: 60_000 }, () => {
  let h: Harness;
  let env: Record<string, string>;
  before(async () => {
    h = await startServer();
    env = { GATECAST_CONTROL: await h.server.listen(0), GATECAST_ADMIN_PASSWORD: ADMIN_PASSWORD };
  });
  after(async () => {
    await h.close();
  });

  it('adds (ID.SECRET printed once), lists without secrets, and removes (closing the live link)', async () => {
    const added = await adminCli(['trackers', 'credentials', 'add', '10.0.0.1:8701'], env);
    assert.equal(added.code, 0, added.err);
    const credential = added.out.trim();
    assert.match(credential, /^10\.0\.0\.1:8701\.gct_[A-Za-z0-9_-]{43}$/);
    assert.match(added.err, /shown this once/);
    const again = await adminCli(['trackers', 'credentials', 'add', '10.0.0.1:8701'], env);
    assert.equal(again.code, 1);
    assert.match(again.err, /already has a credential; remove it first \(conflict\)/);

    const tracker = await FakeTracker.connect(env['GATECAST_CONTROL']!, credential);
    assert.equal((await tracker.hello('10.0.0.1:8701')).type, 'welcome');

    const list = await adminCli(['trackers', 'credentials', 'list'], env);
    assert.match(list.out, /^TRACKER\s+CREATED\s+REVOKED\n10\.0\.0\.1:8701\s+\S+Z\s+-\n$/);
    assert.ok(!list.out.includes(credential.slice(credential.lastIndexOf('.') + 1)));

    const closed = once(tracker.ws, 'close');
    const removed = await adminCli(['trackers', 'credentials', 'remove', '10.0.0.1:8701'], env);
    assert.equal(removed.code, 0, removed.err);
    assert.match(removed.out, /^revoked the credential of tracker 10\.0\.0\.1:8701; its control link here was closed\n$/);
    await closed;
    const json = JSON.parse((await adminCli(['trackers', 'credentials', 'list', '--json'], env)).out) as Array<{ id: string; revoked_at: string | null }>;
    assert.equal(json[0]?.id, '10.0.0.1:8701');
    assert.equal(typeof json[0]?.revoked_at, 'string');
    const unknown = await adminCli(['trackers', 'credentials', 'remove', 'nope'], env);
    assert.equal(unknown.code, 1);
  });

  it('control --no-shared-tracker-secret starts without GATECAST_TRACKER_SECRET and refuses a shared secret', async () => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, GATECAST_ADMIN_PASSWORD: 'pw' };
    delete childEnv['GATECAST_TRACKER_SECRET'];
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'control', '--port', '0', '--db', ':memory:', '--no-shared-tracker-secret'], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const [first] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const url = /^control server listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first)?.[1];
      assert.ok(url, first);
      assert.equal(await upgradeStatus(url, 'any-shared-secret'), 401);
      const added = await adminCli(['trackers', 'credentials', 'add', 't1'], { GATECAST_CONTROL: url, GATECAST_ADMIN_PASSWORD: 'pw' });
      assert.equal(await upgradeStatus(url, added.out.trim()), 101);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('tracker refuses an --id its credential is not for, with exit code 2', async () => {
    const credential = `t1.gct_${'A'.repeat(43)}`;
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'tracker', '--port', '0', '--control', 'http://127.0.0.1:9', '--id', 't2'], {
      env: { ...process.env, GATECAST_TRACKER_SECRET: credential, GATECAST_ADMIN_PASSWORD: 'pw' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(err, /--id t2 does not match the tracker credential in GATECAST_TRACKER_SECRET, which is for tracker t1/);
    assert.ok(!err.includes('A'.repeat(43)), 'the secret is not printed');
  });
});
