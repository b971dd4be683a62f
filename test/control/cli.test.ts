import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { registerAdminCommand, type AdminIo } from '../../src/cli/admin.js';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSourceKeyPath, readSourceKeyFile } from '../../src/cli/source-key-file.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { ADMIN_PASSWORD, FakeTracker, newClientKey, startServer, type Harness } from './helpers.js';

interface Run {
  out: string;
  err: string;
  code: number;
}

async function adminCli(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const r: Run = { out: '', err: '', code: 0 };
  const io: AdminIo = { out: (t) => void (r.out += t), err: (t) => void (r.err += t), env, setExitCode: (c) => void (r.code = c) };
  const program = new Command().exitOverride();
  registerAdminCommand(program, io);
  await program.parseAsync(['admin', ...args], { from: 'user' });
  return r;
}

describe('gatecast admin', () => {
  let h: Harness;
  let env: Record<string, string>;
  let keyHome: string;
  before(async () => {
    h = await startServer();
    const url = await h.server.listen(0);
    // Source keys that `programs add` saves go to a throwaway config directory.
    keyHome = mkdtempSync(join(tmpdir(), 'gatecast-cli-'));
    env = { GATECAST_CONTROL: url, GATECAST_ADMIN_PASSWORD: ADMIN_PASSWORD, XDG_CONFIG_HOME: keyHome };
  });
  after(async () => {
    await h.close();
    rmSync(keyHome, { recursive: true, force: true });
  });

  it('manages users, programs and subscriptions end to end', async () => {
    assert.deepEqual(await adminCli(['users', 'add', 'alice', '--password', 'pw'], env), { out: 'added user alice\n', err: '', code: 0 });
    const users = await adminCli(['users', 'list'], env);
    assert.match(users.out, /^USER\s+ADMIN\s+CREATED\nadmin\s+yes\s+\S+Z\nalice\s+no\s+\S+Z\n$/);
    const usersJson = JSON.parse((await adminCli(['users', 'list', '--json'], env)).out) as Array<{ name: string }>;
    assert.deepEqual(usersJson.map((u) => u.name), ['admin', 'alice']);

    const added = await adminCli(['programs', 'add', 'news', '--title', 'News at ten', '--bitrate', '1500000', '--length', '60'], env);
    const m = /^added program news \(info hash [0-9a-f]{40}, source key ([A-Za-z0-9_-]{43})\)\nsource signing key saved to (\S+): gatecast broadcast needs it\n$/.exec(added.out);
    assert.ok(m, added.out);
    // The operator holds the private key (0600); the control server has only the public one.
    const keyFile = m[2]!;
    assert.equal(keyFile, defaultSourceKeyPath(env['GATECAST_CONTROL']!, 'news', env));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(rawPublicKey(readSourceKeyFile(keyFile)), m[1]);
    assert.equal((await h.store.getProgram('news'))?.sourcePrivateKey, '');
    // A refused add (the id is taken) leaves the saved key alone.
    const before = readFileSync(keyFile, 'utf8');
    assert.equal((await adminCli(['programs', 'add', 'news', '--title', 'again'], env)).code, 1);
    assert.equal(readFileSync(keyFile, 'utf8'), before);
    assert.match((await adminCli(['programs', 'list'], env)).out, /news\s+News at ten\s+1500000\s+60s\s+[0-9a-f]{40}/);
    // There is no way left to have the control server make (and hand out) a program's key.
    await assert.rejects(adminCli(['programs', 'add', 'srv', '--title', 'Server keyed', '--server-key'], env), /unknown option '--server-key'/);
    assert.equal(await h.store.getProgram('srv'), undefined);

    assert.equal((await adminCli(['grant', 'alice', 'news', '--until', '2999-06-01'], env)).out, 'granted alice access to news until 2999-06-01T00:00:00.000Z\n');
    assert.match((await adminCli(['subscriptions'], env)).out, /alice\s+news\s+2999-06-01T00:00:00Z\s+yes/);
    assert.equal((await adminCli(['revoke', 'alice', 'news'], env)).out, "revoked alice's access to news; 0 running sessions told to end\n");
    assert.equal((await adminCli(['subscriptions', '--json'], env)).out, '[]\n');
    assert.equal((await adminCli(['programs', 'remove', 'news'], env)).code, 0);
    assert.equal((await adminCli(['users', 'remove', 'alice'], env)).code, 0);
  });

  it('lists sessions with where they joined from', async () => {
    await adminCli(['users', 'add', 'bob', '--password', 'pw'], env);
    await adminCli(['programs', 'add', 'sport', '--title', 'Sport'], env);
    await adminCli(['grant', 'bob', 'sport'], env);
    const tracker = await FakeTracker.connect(env['GATECAST_CONTROL']!);
    try {
      await tracker.hello();
      const res = await h.server.app.inject({
        method: 'POST',
        url: '/v1/programs/sport/request',
        payload: { user: 'bob', password: 'pw', client_key: newClientKey().publicKey },
      });
      const sid = (res.json() as { session: string }).session;
      tracker.send({ type: 'join', id: 'j', sid, ip: '192.0.2.7', port: 6881, at: Date.now() });
      await tracker.next();
      const table = await adminCli(['sessions'], env);
      assert.match(table.out, /^SESSION\s+USER\s+PROGRAM\s+STATE\s+FROM\s+SINCE\s+CONTINUITY\s+BEHIND\s+FROM PEERS\s+DOWN\s+PEERS\n/);
      assert.match(table.out, new RegExp(`${sid}\\s+bob\\s+sport\\s+joined\\s+192\\.0\\.2\\.7:6881\\s+\\S+Z`));
      tracker.send({ type: 'leave', id: 'l', sid, reason: 'stopped', at: Date.now() });
      await tracker.next();
      assert.doesNotMatch((await adminCli(['sessions'], env)).out, new RegExp(sid));
      assert.match((await adminCli(['sessions', '--all'], env)).out, /ended \(stopped\)/);
      const all = JSON.parse((await adminCli(['sessions', '--all', '--json'], env)).out) as Array<{ id: string; state: string }>;
      assert.equal(all.find((s) => s.id === sid)?.state, 'ended');
    } finally {
      await tracker.close();
    }
  });

  it('prints server refusals as "error: message (code)" with exit code 1', async () => {
    const r = await adminCli(['grant', 'nobody', 'sport'], env);
    assert.deepEqual(r, { out: '', err: 'error: no such user: nobody (unknown_user)\n', code: 1 });
    const dup = await adminCli(['users', 'add', 'bob', '--password', 'x'], env);
    assert.equal(dup.err, 'error: user bob already exists (conflict)\n');
    assert.equal(dup.code, 1);
    const wrong = await adminCli(['users', 'list'], { ...env, GATECAST_ADMIN_PASSWORD: 'wrong' });
    assert.match(wrong.err, /^error: wrong admin user name or password \(unauthorized\)\n$/);
  });

  it('refuses a bad --until date and a missing password with exit code 2', async () => {
    const r = await adminCli(['grant', 'bob', 'sport', '--until', 'tomorrow'], env);
    assert.equal(r.code, 2);
    assert.match(r.err, /^error: --until: not an ISO 8601 date: "tomorrow"/);
    const noPw = await adminCli(['users', 'list'], { GATECAST_CONTROL: env['GATECAST_CONTROL'] });
    assert.equal(noPw.code, 2);
    assert.match(noPw.err, /GATECAST_ADMIN_PASSWORD is not set/);
  });

  it('says when the control server cannot be reached', async () => {
    const r = await adminCli(['--control', 'http://127.0.0.1:9', 'users', 'list'], env);
    assert.deepEqual(r, { out: '', err: 'error: cannot reach control server at http://127.0.0.1:9\n', code: 1 });
  });
});

describe('gatecast control', () => {
  const entry = new URL('./fixtures/control-entry.ts', import.meta.url).pathname;

  it('starts, prints its URL, serves, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'control', '--port', '0', '--db', ':memory:'], {
      env: { ...process.env, GATECAST_ADMIN_PASSWORD: 'pw', GATECAST_TRACKER_SECRET: 'ts' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, 'line')) as [string];
      const m = /^control server listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first);
      assert.ok(m, first);
      const health = await fetch(`${m[1]}/v1/health`);
      assert.equal(health.status, 200);
      const tracker = await FakeTracker.connect(m[1]!, 'ts');
      await tracker.hello();
      await tracker.close();
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses to start without GATECAST_ADMIN_PASSWORD, with exit code 2', async () => {
    const env = { ...process.env };
    delete env['GATECAST_ADMIN_PASSWORD'];
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'control', '--port', '0', '--db', ':memory:'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(err, /GATECAST_ADMIN_PASSWORD is not set/);
  });

  async function refusal(env: NodeJS.ProcessEnv): Promise<{ code: number | null; err: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'control', '--port', '0', '--db', ':memory:'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, err };
  }

  it('requires a tracker secret of its own: none, or the admin password, is refused with exit code 2', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, GATECAST_ADMIN_PASSWORD: 'pw' };
    delete env['GATECAST_TRACKER_SECRET'];
    const none = await refusal(env);
    assert.equal(none.code, 2);
    assert.match(none.err, /GATECAST_TRACKER_SECRET is not set/);
    const same = await refusal({ ...env, GATECAST_TRACKER_SECRET: 'pw' });
    assert.equal(same.code, 2);
    assert.match(same.err, /GATECAST_TRACKER_SECRET must differ from GATECAST_ADMIN_PASSWORD/);
  });
});
