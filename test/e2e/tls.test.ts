/**
 * TLS on the control server and the tracker, with a throwaway CA: clients
 * that trust the CA (--ca) are admitted and handed https/wss tracker URLs;
 * clients that don't fail with a certificate error; plain HTTP gets nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { trustWith } from '../../src/cli/trust.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import { requestProgram } from '../../src/protocol/control-api.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';
import { runCli, within } from './helpers.js';

const ADMIN = 'tls-admin-pw';
let pki: TestPki;
let store: SqliteControlStore;
let control: ControlServer;
let controlUrl: string;
let tracker: Tracker;
let trackerUrls: { announceUrl: string; wsUrl: string };

before(async () => {
  pki = await makeTestPki();
  store = new SqliteControlStore(':memory:');
  const tls = { cert: pki.cert, key: pki.key };
  control = await createControlServer({ store, clock: systemClock, adminPassword: ADMIN, trackerSecret: 'tls-tracker-secret', webServer: webServerFactory({ tls }) });
  controlUrl = await control.listen(0, '127.0.0.1');
  tracker = await createTracker({
    controlUrl,
    secret: 'tls-tracker-secret',
    host: '127.0.0.1',
    store: new MemorySwarmStore(),
    webServer: webServerFactory({ tls }),
    ca: trustWith([pki.caPem]).ca,
  });
  trackerUrls = await tracker.start();
  // The tracker's control link verified the control server's certificate with the CA.
  await within('the tracker to link up over WSS', tracker.ready);
});

after(async () => {
  await tracker.stop();
  await control.close();
  await store.close();
  pki.cleanup();
});

const env = { GATECAST_ADMIN_PASSWORD: ADMIN };

test('the servers speak HTTPS and WSS, and say so in their URLs', () => {
  assert.match(controlUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(trackerUrls.announceUrl, /^https:\/\/127\.0\.0\.1:\d+\/announce$/);
  assert.match(trackerUrls.wsUrl, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
});

test('admin with --ca works; without it, or with another CA, it fails with a clear certificate error', async () => {
  const ok = await runCli(['admin', '--control', controlUrl, '--ca', pki.caFile, 'users', 'add', 'alice', '--password', 'pw-alice'], { env });
  assert.equal(ok.code, 0, ok.stderr);
  const progs = await runCli(['admin', '--control', controlUrl, '--ca', pki.caFile, 'programs', 'add', 'ch1', '--title', 'One'], { env });
  assert.equal(progs.code, 0, progs.stderr);
  assert.equal((await runCli(['admin', '--control', controlUrl, '--ca', pki.caFile, 'grant', 'alice', 'ch1'], { env })).code, 0);

  for (const extra of [[], ['--ca', pki.otherCaFile]]) {
    const r = await runCli(['admin', '--control', controlUrl, ...extra, 'users', 'list'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /certificate is not trusted \([A-Z_]+\); give its CA with --ca FILE or NODE_EXTRA_CA_CERTS/);
  }
  // NODE_EXTRA_CA_CERTS does it too, for any client.
  const viaEnv = await runCli(['admin', '--control', controlUrl, 'users', 'list'], { env: { ...env, NODE_EXTRA_CA_CERTS: pki.caFile } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stdout, /alice/);
});

test('an admission over HTTPS hands out https:// and wss:// tracker URLs', async () => {
  const key = rawPublicKey(generateKeyPairSync('ed25519').privateKey);
  await assert.rejects(requestProgram(controlUrl, { program: 'ch1', user: 'alice', password: 'pw-alice', clientKey: key }), /certificate is not trusted/);
  const adm = await requestProgram(controlUrl, { program: 'ch1', user: 'alice', password: 'pw-alice', clientKey: key }, trustWith([pki.caPem]));
  assert.match(adm.metadata.tracker.announce, /^https:\/\/127\.0\.0\.1:\d+\/announce\?/);
  assert.equal(adm.metadata.tracker.ws, trackerUrls.wsUrl);
});

test('plain HTTP to either TLS server gets no answer', async () => {
  for (const url of [controlUrl, trackerUrls.announceUrl]) {
    const plain = url.replace(/^https:/, 'http:');
    await assert.rejects(fetch(plain, { signal: AbortSignal.timeout(10_000) }), (err: unknown) => {
      assert.ok(err instanceof TypeError, String(err));
      return true;
    });
  }
});
