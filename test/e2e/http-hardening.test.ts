/**
 * Every HTTP server cuts off a slowloris client, and the playback server
 * answers only to its own name (DNS rebinding), as an attacker meets them:
 * raw TCP on 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { ManualClock } from '../../src/core/clock.js';
import { webServerFactory, type HttpLimits } from '../../src/cli/web-server.js';
import { createControlServer } from '../../src/control/index.js';
import { createPlaybackServer } from '../../src/peer/playback-server.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { FakeTracker } from '../control/helpers.js';
import { within } from './helpers.js';

const LIMITS: Partial<HttpLimits> = { headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 400, checkIntervalMs: 100 };

/** Sends a request's headers one byte at a time and never finishes; resolves with what the server said once it hung up. */
async function slowloris(port: number, opts: { bodyForever?: boolean } = {}): Promise<string> {
  const sock: Socket = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  let heard = '';
  sock.setEncoding('utf8').on('data', (s: string) => (heard += s));
  sock.on('error', () => undefined);
  // Not once(sock, 'close'), which rejects on 'error': a server that hangs up with a reset (ECONNRESET, as Node 24's
  // often does on a timed-out request with unread bytes) has hung up all the same.
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  const head = opts.bodyForever
    ? `POST /v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`
    : `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `;
  if (opts.bodyForever) sock.write(head);
  let i = 0;
  const drip = setInterval(() => {
    if (sock.destroyed) return;
    // Headers one byte at a time, then (for ever) one more header byte or body byte.
    sock.write(opts.bodyForever ? '{' : i < head.length ? head[i] ?? 'a' : 'a');
    i++;
  }, 20);
  try {
    await within('the server to hang up on a slowloris client', closed, 20_000);
  } finally {
    clearInterval(drip);
    sock.destroy();
  }
  return heard;
}

test('the control server cuts off a client that trickles its headers, or its body, for ever', async () => {
  const store = new SqliteControlStore(':memory:');
  const control = await createControlServer({ store, clock: new ManualClock(), adminPassword: 'a', trackerSecret: 't', webServer: webServerFactory({ limits: LIMITS }) });
  try {
    const port = Number(new URL(await control.listen(0)).port);
    assert.match(await slowloris(port), /^(HTTP\/1\.1 408|)/);
    await slowloris(port, { bodyForever: true });
  } finally {
    await control.close();
    await store.close();
  }
});

test('an upgraded WebSocket (the control link) is not cut by the request or keep-alive deadlines', async () => {
  const store = new SqliteControlStore(':memory:');
  const control = await createControlServer({ store, clock: new ManualClock(), adminPassword: 'a', trackerSecret: 't', webServer: webServerFactory({ limits: LIMITS }), linkKeepaliveMs: null });
  try {
    const url = await control.listen(0);
    const t = await FakeTracker.connect(url, 't');
    assert.equal((await t.hello('t-long')).type, 'welcome');
    // Well past every deadline (checked every 100 ms), the link still answers.
    await new Promise((r) => setTimeout(r, 2_000));
    t.send({ type: 'leave', id: 'still-there', sid: 'nobody', reason: 'stopped', at: 1 });
    assert.deepEqual(await within('the ack', t.next()), { type: 'ack', id: 'still-there' });
    await t.close();
  } finally {
    await control.close();
    await store.close();
  }
});

test('the tracker cuts off a slowloris client', async () => {
  const tracker = await createTracker({ controlUrl: 'http://127.0.0.1:9', secret: 's', store: new MemorySwarmStore(), webServer: webServerFactory({ limits: LIMITS }) });
  try {
    const { announceUrl } = await tracker.start();
    await slowloris(Number(new URL(announceUrl).port));
  } finally {
    await tracker.stop();
  }
});

test('the playback server cuts off a slowloris client', async () => {
  const play = createPlaybackServer({ webServer: webServerFactory({ limits: LIMITS }) });
  try {
    await slowloris(Number(new URL(await play.listen()).port));
  } finally {
    await play.close();
  }
});

async function getWithHost(port: number, host: string | null, path = '/status.json'): Promise<{ status: number; body: string }> {
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  let text = '';
  sock.setEncoding('utf8').on('data', (s: string) => (text += s));
  sock.write(`GET ${path} HTTP/1.1\r\n${host === null ? '' : `Host: ${host}\r\n`}Connection: close\r\n\r\n`);
  await within('the answer', once(sock, 'end'));
  sock.destroy();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

test('the playback server refuses a foreign Host header (DNS rebinding) and serves its own address and localhost', async () => {
  const play = createPlaybackServer({ webServer: webServerFactory(), status: () => ({ secret: 'viewer stats' }) });
  try {
    const port = Number(new URL(await play.listen()).port);
    // No Host at all: node's own 400 (HTTP/1.1 requires one).
    assert.equal((await getWithHost(port, null)).status, 400);
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1']) {
      const r = await getWithHost(port, host);
      assert.equal(r.status, 421, `Host ${String(host)}`);
      assert.match(r.body, /answers only to Host 127\.0\.0\.1:\d+, localhost:\d+|answers only to Host localhost:\d+, 127\.0\.0\.1:\d+/);
      assert.doesNotMatch(r.body, /viewer stats/);
    }
    const stream = await getWithHost(port, `evil.example`, '/stream.ts');
    assert.equal(stream.status, 421);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LOCALHOST:${port}`]) {
      const r = await getWithHost(port, host);
      assert.equal(r.status, 200, `Host ${host}`);
      assert.match(r.body, /viewer stats/);
    }
  } finally {
    await play.close();
  }
});
