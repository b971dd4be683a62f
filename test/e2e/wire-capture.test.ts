/**
 * A packet capture, as a passive observer on the path records it: control
 * server and tracker on TLS, and loopback TCP taps (proxies recording both
 * directions) between the viewers and the control server, the viewers and
 * the tracker, and one viewer and another. An admission plus some seconds of
 * peer traffic leave no password, no Basic credential, no token and no run
 * of MPEG-TS sync bytes in the capture.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { Broadcaster } from '../../src/broadcast/broadcaster.js';
import { adminClient } from '../../src/cli/control-client.js';
import { trustWith } from '../../src/cli/trust.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import type { ClientTrust } from '../../src/core/ports.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { joinSwarm } from '../../src/peer/join-swarm.js';
import { Viewer } from '../../src/peer/viewer.js';
import { requestProgram } from '../../src/protocol/control-api.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';
import { waitFor } from './helpers.js';

const ADMIN = 'capture-admin-password';
const PASSWORDS = { alice: 'alice-password-on-the-wire?', dave: 'dave-password-on-the-wire?' };

interface Tap {
  url(scheme: string): string;
  bytes(): Buffer;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `target()`, recording what passes both ways. */
async function tap(target: () => number): Promise<Tap> {
  const captured: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target(), '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('data', (d: Buffer) => captured.push(Buffer.from(d)));
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    bytes: () => Buffer.concat(captured),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function hasTsRun(buf: Buffer, run = 5): boolean {
  for (let i = 0; i + 188 * (run - 1) < buf.length; i++) {
    let k = 0;
    while (k < run && buf[i + 188 * k] === 0x47) k++;
    if (k === run) return true;
  }
  return false;
}

let pki: TestPki;
/** Every client below trusts the test CA through this value. */
let trust: ClientTrust;
let store: SqliteControlStore;
let control: ControlServer;
let tracker: Tracker;
let controlPort = 0;
let trackerPort = 0;
const taps: Record<'control' | 'tracker' | 'peer', Tap | null> = { control: null, tracker: null, peer: null };

before(async () => {
  pki = await makeTestPki();
  trust = trustWith([pki.caPem]);
  const tls = { cert: pki.cert, key: pki.key };
  store = new SqliteControlStore(':memory:');
  control = await createControlServer({ store, clock: systemClock, adminPassword: ADMIN, trackerSecret: 'capture-tracker-secret', webServer: webServerFactory({ tls }) });
  controlPort = Number(new URL(await control.listen(0, '127.0.0.1')).port);
  taps.control = await tap(() => controlPort);
  taps.tracker = await tap(() => trackerPort);
  trackerPort = await freePort();
  tracker = await createTracker({
    port: trackerPort,
    controlUrl: `https://127.0.0.1:${controlPort}`,
    secret: 'capture-tracker-secret',
    host: '127.0.0.1',
    store: new MemorySwarmStore(),
    webServer: webServerFactory({ tls }),
    ca: trust.ca,
    // Clients learn the tracker's URL from the metadata: the tap's.
    publicUrl: taps.tracker.url('https'),
  });
  const urls = await tracker.start();
  assert.match(urls.wsUrl, /^wss:/);
  await tracker.ready;
});

after(async () => {
  for (const t of Object.values(taps)) await t?.close();
  await tracker.stop();
  await control.close();
  await store.close();
  pki.cleanup();
});

test('TLS on control and tracker, encrypted peer wire: the capture holds no password, token or MPEG-TS', { timeout: 90_000 }, async () => {
  const controlUrl = taps.control!.url('https');
  const admin = adminClient(controlUrl, ADMIN, 'admin', trust);
  // The operator's own source key: the control server never holds it, so no admission carries it.
  const programKey = generateKeyPairSync('ed25519');
  await admin.addProgram({ id: 'ch1', title: 'Captured', source_key: rawPublicKey(programKey.publicKey) });
  for (const [user, pw] of Object.entries(PASSWORDS)) {
    await admin.addUser(user, pw);
    await admin.grant(user, 'ch1', null);
  }
  const source = await Broadcaster.start({
    controlUrl,
    program: 'ch1',
    adminPassword: ADMIN,
    input: { kind: 'test-pattern', bitrateBps: 2_000_000 },
    uploadRate: null,
    host: '127.0.0.1',
    sourceKey: programKey.privateKey,
    trust,
  });
  source.on('error', () => undefined);
  const alice = await Viewer.start({ controlUrl, program: 'ch1', user: 'alice', password: PASSWORDS.alice, host: '127.0.0.1', sinks: [], trust });
  const alicePort = alice.swarm.links.port;
  assert.ok(alicePort !== null);
  taps.peer = await tap(() => alicePort);

  // Dave: an admission through the control tap, the tracker through its tap, and alice through the peer tap.
  const keys = generateKeyPairSync('ed25519');
  const admission = await requestProgram(controlUrl, { program: 'ch1', user: 'dave', password: PASSWORDS.dave, clientKey: rawPublicKey(keys.publicKey) }, trust);
  assert.match(admission.metadata.tracker.ws, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
  const dave = await joinSwarm({
    controlUrl,
    admission,
    clientKey: keys.privateKey,
    role: 'viewer',
    peerId: Buffer.concat([Buffer.from('-GC0001-'), randomBytes(12)]),
    clock: systemClock,
    host: '127.0.0.1',
    peerPort: 0,
    swarm: { maxPeers: 4, uploadSlots: 4, uploadRate: null },
    trust,
  });
  try {
    const peerTap = taps.peer;
    dave.swarm.connect([{ sid: alice.sid, peer_id: '00'.repeat(20), ip: '127.0.0.1', port: Number(new URL(peerTap.url('tcp')).port), role: 'viewer' }]);
    const edge = await waitFor('dave hears of the live edge', () => dave.swarm.picker.liveEdge, 15_000);
    dave.swarm.setPlayhead(Math.max(0, edge - 4));
    // About 5 s of stream at 2 Mbit/s through the peer tap.
    await waitFor('5 s of stream through the peer tap', () => peerTap.bytes().length >= 1_200_000, 45_000);

    const captures = { control: taps.control!.bytes(), tracker: taps.tracker!.bytes(), peer: peerTap.bytes() };
    const secrets = [
      ADMIN,
      PASSWORDS.alice,
      PASSWORDS.dave,
      Buffer.from(`admin:${ADMIN}`).toString('base64'),
      admission.token,
      alice.session.token,
      // The tokens' payloads (not 'eyJ', which 1.2 MB of ciphertext holds by chance in ~7% of runs).
      admission.token.split('.')[1] ?? 'missing',
      'gc_token',
      'Authorization',
      'password',
    ];
    for (const [name, bytes] of Object.entries(captures)) {
      assert.ok(bytes.length > 1_000, `the ${name} tap saw traffic (${bytes.length} bytes)`);
      for (const s of secrets) assert.equal(bytes.includes(s), false, `${name} capture: ${s.slice(0, 12)}… in the clear`);
      assert.equal(hasTsRun(bytes), false, `${name} capture: a run of TS sync bytes`);
    }
    // TLS records (handshake 0x16, then application data 0x17) on the control and tracker taps.
    assert.equal(captures.control[0], 0x16);
    assert.equal(captures.tracker[0], 0x16);
    // The detector does find TS where there is some: a piece dave decrypted.
    const plain = dave.swarm.window.get(edge)?.bytes;
    assert.ok(plain && hasTsRun(plain), 'a decrypted piece is plain MPEG-TS');
  } finally {
    await dave.swarm.close();
    dave.tracker.close();
    dave.session.stop();
    await alice.stop('test over').catch(() => undefined);
    await source.stop().catch(() => undefined);
  }
});
