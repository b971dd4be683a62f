/**
 * A program from before (its signing key made and kept by the control server)
 * as an operator meets it now: the broadcaster is refused with
 * source_key_on_server and told to rekey; `gatecast admin programs rekey` run
 * on the broadcaster's machine makes a new pair there, the server drops the
 * private key it held, and the broadcaster then plays with the new key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { Broadcaster } from '../../src/broadcast/broadcaster.js';
import { ClientError } from '../../src/core/errors.js';
import { ed25519PrivateKey, rawPublicKey } from '../../src/core/piece.js';
import { defaultSourceKeyPath, readSourceKeyFile } from '../../src/cli/source-key-file.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { runCli, waitFor } from './helpers.js';

let sys: LocalSystem;
let dir: string;
let legacyPrivate: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatecast-rekey-'));
  const db = join(dir, 'control.db');
  sys = await startLocalSystem({ adminPassword: 'rekey-admin', db });
  // A row as the control server wrote it before: the key pair made and kept on the server.
  const { privateKey } = generateKeyPairSync('ed25519');
  legacyPrivate = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url');
  const store = new SqliteControlStore(db);
  try {
    await store.createProgram({
      id: 'old',
      title: 'Old channel',
      bitrateBps: 1_000_000,
      lengthS: null,
      sourcePublicKey: rawPublicKey(privateKey),
      sourcePrivateKey: legacyPrivate,
      packetsPerPiece: 50,
      createdAt: Date.now(),
    });
  } finally {
    await store.close();
  }
});

after(async () => {
  await sys.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a server-keyed program: the source admission is refused (409 source_key_on_server, no key); programs rekey fixes it and the broadcaster plays', async () => {
  const start = (sourceKey: ReturnType<typeof readSourceKeyFile>) =>
    Broadcaster.start({ controlUrl: sys.controlUrl, program: 'old', adminPassword: sys.adminPassword, input: { kind: 'test-pattern', bitrateBps: 1_000_000 }, uploadRate: null, sourceKey });

  // The admin password alone (stolen or not) gets no signing key: a refusal naming the fix.
  const raw = await fetch(`${sys.controlUrl}/v1/admin/programs/old/source`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`admin:${sys.adminPassword}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client_key: rawPublicKey(generateKeyPairSync('ed25519').publicKey) }),
  });
  const text = await raw.text();
  assert.equal(raw.status, 409);
  assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'source_key_on_server');
  assert.match(text, /gatecast admin programs rekey old/);
  assert.ok(!text.includes(legacyPrivate), 'the held private key is not in the answer');
  await assert.rejects(start(generateKeyPairSync('ed25519').privateKey), (err: unknown) => err instanceof ClientError && err.code === 'source_key_on_server');

  // The operator rekeys on the broadcaster's machine.
  const infoHashBefore = (await sys.admin.listPrograms()).find((p) => p.id === 'old')?.info_hash;
  const env = { GATECAST_ADMIN_PASSWORD: sys.adminPassword, XDG_CONFIG_HOME: join(dir, 'config') };
  const res = await runCli(['admin', '--control', sys.controlUrl, 'programs', 'rekey', 'old'], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /new info hash [0-9a-f]{40}/);
  assert.match(res.stdout, /the old one is gone/);
  const keyFile = defaultSourceKeyPath(sys.controlUrl, 'old', env);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const key = readSourceKeyFile(keyFile);
  const program = (await sys.admin.listPrograms()).find((p) => p.id === 'old');
  assert.equal(program?.source_key, rawPublicKey(key));
  assert.notEqual(program?.info_hash, infoHashBefore, 'a new key is a new info hash');

  // The old key (the one the server held) no longer signs for the program; the new one does, and a viewer plays.
  await assert.rejects(start(ed25519PrivateKey(legacyPrivate)), /not program old's/);
  const b = await start(key);
  assert.equal(b.metadata.info_hash, program?.info_hash);
  b.on('error', (err) => assert.fail(err));
  const { viewer } = await sys.viewer('ann', 'old', { http: false });
  await waitFor('the viewer plays pieces signed with the new key', () => viewer.stats().played > 20, 30_000);
  assert.equal(viewer.stats().missed, 0);
  await b.stop();
});
