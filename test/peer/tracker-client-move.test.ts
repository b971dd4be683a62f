/**
 * TrackerClient over several trackers, against minimal trackers on real
 * WebSockets: after a loss it opens its channel to the next tracker of the
 * list with the same session and token, proving its key over that tracker's
 * own nonce; a tracker's `internal` failure is not a refusal.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ManualClock } from '../../src/core/clock.js';
import { ClientError, InternalError } from '../../src/core/errors.js';
import { channelProofMessage, clientToTracker, trackerToClient, type ClientToTracker } from '../../src/protocol/tracker-channel.js';
import { TrackerClient } from '../../src/peer/tracker-client.js';

const SID = 's-moving';
const INFO_HASH = 'ab'.repeat(20);
const PEER_ID = 'cd'.repeat(20);
const { privateKey, publicKey } = generateKeyPairSync('ed25519');

/** A tracker that welcomes, checks each announce's proof over its own nonce, and answers as `answer` says. */
class MiniTracker {
  readonly server: WebSocketServer;
  readonly announces: Array<{ token: string; proofOk: boolean }> = [];
  readonly sockets = new Set<WebSocket>();
  answer: 'peers' | 'internal' | 'unavailable' | 'token_revoked' = 'peers';

  constructor() {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.server.on('connection', (ws) => {
      this.sockets.add(ws);
      const nonce = randomBytes(32).toString('base64url');
      ws.send(trackerToClient.encode({ type: 'welcome', nonce }));
      ws.on('message', (data) => {
        const msg: ClientToTracker = clientToTracker.parse(data.toString());
        if (msg.type !== 'announce') return;
        const proofOk = verify(
          null,
          channelProofMessage({ nonce, sid: SID, infoHash: msg.info_hash, peerId: msg.peer_id, port: msg.port }),
          publicKey,
          Buffer.from(msg.proof ?? '', 'base64url'),
        );
        this.announces.push({ token: msg.token, proofOk });
        if (this.answer === 'peers') {
          ws.send(trackerToClient.encode({ type: 'peers', id: msg.id, interval_s: 30, heartbeat_s: 60, complete: 1, incomplete: 0, peers: [] }));
        } else {
          ws.send(trackerToClient.encode({ type: 'error', id: msg.id, code: this.answer, message: this.answer === 'internal' ? 'internal tracker error' : this.answer === 'unavailable' ? 'the tracker cannot reach its swarm store right now' : 'session revoked' }));
        }
      });
    });
  }

  async url(): Promise<string> {
    if (!this.server.address()) await once(this.server, 'listening');
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/ws`;
  }

  /** Drops every channel at once, as a killed tracker's would go. */
  kill(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  close(): Promise<void> {
    this.kill();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const trackers: MiniTracker[] = [];
after(async () => {
  for (const t of trackers) await t.close();
});

async function rig(n: number, silenceMs: number | null = null): Promise<{ ts: MiniTracker[]; urls: string[]; client: TrackerClient; clock: ManualClock }> {
  const ts = Array.from({ length: n }, () => new MiniTracker());
  trackers.push(...ts);
  const urls = await Promise.all(ts.map((t) => t.url()));
  const [first, ...others] = urls;
  assert.ok(first);
  const clock = new ManualClock();
  const client = new TrackerClient({
    wsUrl: first,
    otherUrls: urls,
    infoHash: INFO_HASH,
    peerId: PEER_ID,
    port: 7001,
    token: () => 'the-same-token',
    sid: SID,
    clientKey: privateKey,
    clock,
    silenceMs,
  });
  assert.deepEqual([client.url, client.trackerCount], [first, 1 + others.length], 'the first URL is not listed twice');
  return { ts, urls, client, clock };
}

test('after a loss the client announces on the next tracker with the same token, its proof over the new nonce; the list wraps around', async () => {
  const { ts, urls, client } = await rig(2);
  const [a, b] = ts;
  assert.ok(a && b);
  const joined: string[] = [];
  client.on('joined', ({ url }) => joined.push(url));
  await client.start();
  assert.deepEqual(a.announces, [{ token: 'the-same-token', proofOk: true }]);
  assert.equal(client.moveOn(), urls[0], 'an open channel is never dropped for another tracker');

  const lost = once(client, 'lost');
  a.kill();
  await lost;
  assert.equal(client.connected, false);
  assert.equal(client.moveOn(), urls[1]);
  await client.start();
  assert.deepEqual(b.announces, [{ token: 'the-same-token', proofOk: true }], "the same token, proved over B's nonce");
  assert.deepEqual(joined, [urls[0], urls[1]], 'joined once per channel, naming the tracker');

  const lostAgain = once(client, 'lost');
  b.kill();
  await lostAgain;
  assert.equal(client.moveOn(), urls[0], 'wraps around');
  await client.start();
  assert.equal(a.announces.length, 2);
  client.close();
});

test("a tracker's internal failure or unavailable store is an InternalError (worth another tracker); any other error code is a refusal", async () => {
  const { ts, client } = await rig(1);
  const [t] = ts;
  assert.ok(t);
  t.answer = 'internal';
  await assert.rejects(client.start(), (err: unknown) => err instanceof InternalError && /internal tracker error/.test(err.message));
  // Its swarm store unreachable: the tracker's fault too, retried, never a refusal.
  t.answer = 'unavailable';
  await assert.rejects(client.start(), (err: unknown) => err instanceof InternalError && /^tracker unavailable: the tracker cannot reach its swarm store/.test(err.message));
  t.answer = 'token_revoked';
  await assert.rejects(client.start(), (err: unknown) => err instanceof ClientError && err.code === 'token_revoked');
  client.close();
});

test('a tracker silent for silenceMs (no ping, no frame: its machine gone without a FIN) has its channel dropped and reported lost', async () => {
  const { ts, urls, client, clock } = await rig(2, 3_000);
  const [a] = ts;
  assert.ok(a);
  await client.start();
  const [channel] = a.sockets;
  assert.ok(channel);
  let lost = false;
  client.on('lost', () => (lost = true));
  const warnings: string[] = [];
  client.on('warning', (err) => warnings.push(err.message));
  clock.advance(2_000);
  // The tracker's keepalive ping resets the watch: 2 s + 2 s is past 3 s, but not past 3 s of silence.
  channel.ping();
  await once(channel, 'pong');
  clock.advance(2_000);
  await new Promise((r) => setImmediate(r));
  assert.equal(lost, false, 'a ping counts as hearing from the tracker');
  assert.equal(client.connected, true);
  const gone = once(client, 'lost');
  clock.advance(3_000);
  await gone;
  assert.match(warnings.join('\n'), /silent for 3000 ms/);
  assert.equal(client.moveOn(), urls[1], 'free to move on');
  await client.start();
  client.close();
});
