/**
 * `gatecast login` then `gatecast watch` with no password anywhere, as real
 * processes: the password goes in on stdin once, the device credential is
 * kept 0600 in the config directory (never the password), `watch` is admitted
 * with it and plays; `admin users logout-all` ends the running watch and makes
 * the next one fail with a clear message and its own exit code; `logout`
 * revokes the credential on the server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ClientError } from '../../src/core/errors.js';
import { requestProgram } from '../../src/protocol/control-api.js';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import { runCli, waitFor, within, type CliResult } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatecast.js', import.meta.url));
const PASSWORD = 'correct horse battery staple';

let sys: LocalSystem;
let dir: string;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatecast-login-'));
  sys = await startLocalSystem();
  await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 });
  await sys.admin.addUser('alice', PASSWORD);
  await sys.admin.grant('alice', 'ch1', null);
  // No password, user or control URL in the environment: only the stored login can admit.
  env = { XDG_CONFIG_HOME: join(dir, 'config'), GATECAST_PASSWORD: '', GATECAST_USER: '', GATECAST_CONTROL: '' };
});

after(async () => {
  await sys.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `gatecast ARGS`, writing `input` to its stdin (a pipe, not a terminal). */
function start(args: string[], input = ''): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin?.end(input);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

const login = () => within('gatecast login', start(['login', '--control', sys.controlUrl, '--user', 'alice'], `${PASSWORD}\n`).done, 30_000);
const loginFile = () => join(dir, 'config', 'gatecast', 'logins.json');

test('login reads the password from stdin, keeps only a device credential, 0600 in a 0700 directory', async () => {
  const res = await login();
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /logged in as alice/);
  const file = loginFile();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'config', 'gatecast')).mode & 0o777, 0o700);
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(PASSWORD), 'the password is not stored');
  const stored = (JSON.parse(text) as { logins: Record<string, { user: string; device: string; secret: string }> }).logins[sys.controlUrl];
  assert.equal(stored?.user, 'alice');
  assert.match(stored?.secret ?? '', /^[A-Za-z0-9_-]{43}$/);
});

test('login takes no password on the command line', async () => {
  const res = await runCli(['login', '--control', sys.controlUrl, '--user', 'alice', '--password', PASSWORD], { env });
  assert.equal(res.code, EXIT.usage);
});

test("the operator logs in as admin and runs gatecast admin with no password in the environment", async () => {
  const res = await within('admin login', start(['login', '--control', sys.controlUrl, '--user', 'admin'], `${sys.adminPassword}\n`).done, 30_000);
  assert.equal(res.code, 0, res.stderr);
  const list = await runCli(['admin', 'users', 'list', '--control', sys.controlUrl], { env: { ...env, GATECAST_ADMIN_PASSWORD: '' } });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /alice/);
  const other = join(dir, 'other-config');
  const none = await runCli(['admin', 'users', 'list', '--control', sys.controlUrl], { env: { ...env, XDG_CONFIG_HOME: other, GATECAST_ADMIN_PASSWORD: '' } });
  assert.equal(none.code, EXIT.usage);
  assert.match(none.stderr, /not logged in/);
});

test('watch with no password anywhere plays; logout-all ends it, and the next watch fails with a clear message', async () => {
  assert.equal((await login()).code, 0);
  const out = join(dir, 'watch.ts');
  const watch = start(['watch', 'ch1', '--control', sys.controlUrl, '--no-http', '-q', '-o', out]);
  try {
    await waitFor('1 MB of stream from the watch', () => (statSync(out, { throwIfNoEntry: false })?.size ?? 0) > 1_000_000, 30_000);
    const admin = await runCli(['admin', 'users', 'logout-all', 'alice', '--control', sys.controlUrl], {
      env: { ...env, GATECAST_ADMIN_PASSWORD: sys.adminPassword },
    });
    assert.equal(admin.code, 0, admin.stderr);
    assert.match(admin.stdout, /signed alice out: 1 device login revoked, 1 session ending/);
    const ended = await within('the running watch to end', watch.done, 30_000);
    assert.equal(ended.code, EXIT.kicked, ended.stderr);
    assert.match(ended.stderr, /signed out of all devices/);
  } finally {
    watch.child.kill('SIGKILL');
  }
  const next = await within('the next watch', start(['watch', 'ch1', '--control', sys.controlUrl, '--no-http', '-q']).done, 30_000);
  assert.equal(next.code, EXIT.loginRequired, next.stderr);
  assert.match(next.stderr, /this device's login was revoked or expired: run gatecast login/);
});

test('logout revokes the credential on the server and forgets it here', async () => {
  assert.equal((await login()).code, 0);
  const stored = (JSON.parse(readFileSync(loginFile(), 'utf8')) as { logins: Record<string, { device: string; secret: string }> }).logins[
    sys.controlUrl
  ];
  assert.ok(stored);
  const res = await within('gatecast logout', start(['logout', '--control', sys.controlUrl]).done, 30_000);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(JSON.parse(readFileSync(loginFile(), 'utf8')).logins[sys.controlUrl], undefined);
  const clientKey = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
  await assert.rejects(
    requestProgram(sys.controlUrl, { program: 'ch1', user: 'alice', device: { device: stored.device, secret: stored.secret }, clientKey }),
    (err: unknown) => err instanceof ClientError && err.code === 'login_required',
  );
  const watch = await within('watch after logout', start(['watch', 'ch1', '--control', sys.controlUrl, '--no-http', '-q']).done, 30_000);
  assert.equal(watch.code, EXIT.usage);
  assert.match(watch.stderr, /not logged in at .*: run gatecast login/);
});
