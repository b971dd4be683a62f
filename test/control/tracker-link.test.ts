import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { DEFAULTS } from '../../src/core/config.js';
import type { AdmissionResult } from '../../src/core/types.js';
import { FakeTracker, newClientKey, seed, startServer, type Harness } from './helpers.js';

async function waitFor(cond: () => boolean | Promise<boolean>): Promise<void> {
  // The server side of a close has no event a test can await; poll briefly.
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail('condition not reached');
}

describe('tracker link', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startServer();
    url = await h.server.listen(0);
    await seed(h);
  });
  after(async () => {
    await h.close();
  });

  async function admit(): Promise<string> {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/programs/news/request',
      payload: { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey },
    });
    assert.equal(res.statusCode, 200);
    return (res.json() as AdmissionResult).session;
  }

  it('answers hello with welcome and the control key, and registers the tracker', async () => {
    const t = await FakeTracker.connect(url);
    try {
      const welcome = await t.hello('t-hello');
      assert.deepEqual(welcome, { type: 'welcome', control_key: h.server.controlKey, heartbeat_timeout_ms: DEFAULTS.heartbeatTimeoutMs, revoked: [], qoe: true });
      assert.deepEqual(
        h.server.trackers().map((x) => [x.id, x.announceUrl, x.wsUrl]),
        [['t-hello', 'http://127.0.0.1:6969/announce', 'ws://127.0.0.1:6969/ws']],
      );
    } finally {
      await t.close();
    }
    await waitFor(() => h.server.trackers().length === 0);
  });

  it('records join and leave, acks each, and acks duplicates again without harm', async () => {
    const t = await FakeTracker.connect(url);
    try {
      await t.hello('t-join');
      const sid = await admit();
      t.send({ type: 'join', id: 'j1', sid, ip: '10.1.2.3', port: 51413, at: 1_111 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'j1' });
      let s = await h.store.getSession(sid);
      assert.deepEqual([s?.state, s?.ip, s?.port, s?.trackerId, s?.joinedAt], ['joined', '10.1.2.3', 51413, 't-join', 1_111]);
      t.send({ type: 'join', id: 'j1', sid, ip: '10.1.2.3', port: 51413, at: 1_111 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'j1' });

      t.send({ type: 'leave', id: 'l1', sid, reason: 'stopped', at: 2_222 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'l1' });
      s = await h.store.getSession(sid);
      assert.deepEqual([s?.state, s?.endedAt, s?.endReason], ['ended', 2_222, 'stopped']);
      t.send({ type: 'leave', id: 'l1', sid, reason: 'timeout', at: 3_333 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'l1' });
      s = await h.store.getSession(sid);
      assert.deepEqual([s?.state, s?.endedAt, s?.endReason], ['ended', 2_222, 'stopped']);

      // A retried join older than the leave is acked and changes nothing.
      t.send({ type: 'join', id: 'j1', sid, ip: '10.1.2.3', port: 51413, at: 1_111 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'j1' });

      // A newer join for an ended session does not bring it back: the tracker is told to drop the client.
      t.send({ type: 'join', id: 'j2', sid, ip: '10.1.2.3', port: 51413, at: 4_444 });
      const order = await t.next();
      assert.equal(order.type, 'disconnect');
      assert.equal(order.type === 'disconnect' && order.sid, sid);
      assert.deepEqual(await t.next(), { type: 'ack', id: 'j2' });
      assert.equal((await h.store.getSession(sid))?.state, 'ended');
      if (order.type === 'disconnect') {
        t.send({ type: 'ack', id: order.id });
        t.send({ type: 'leave', id: 'l2', sid, reason: 'revoked', ref: order.id, at: 5_555 });
        assert.deepEqual(await t.next(), { type: 'ack', id: 'l2' });
        await h.server.orchestrator.idle();
        const d = await h.store.getDisconnect(order.id);
        assert.deepEqual([d?.state, d?.outcome], ['completed', 'revoked']);
      }
    } finally {
      await t.close();
    }
  });

  it('acks reports about unknown sessions', async () => {
    const t = await FakeTracker.connect(url);
    try {
      await t.hello('t-unknown');
      t.send({ type: 'join', id: 'u1', sid: 'nobody', ip: '1.1.1.1', port: 1, at: 1 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'u1' });
      t.send({ type: 'leave', id: 'u2', sid: 'nobody', reason: 'stopped', at: 1 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'u2' });
    } finally {
      await t.close();
    }
  });

  it('survives bad frames, and closes with 1008 after too many', async () => {
    const t = await FakeTracker.connect(url);
    try {
      t.send('this is not json');
      t.send(JSON.stringify({ type: 'join', id: 'early', sid: 'x', ip: '1.1.1.1', port: 1, at: 1 })); // before hello
      await t.hello('t-bad');
      t.send(JSON.stringify({ type: 'join', id: 'b1' }));
      t.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      t.send({ type: 'leave', id: 'ok1', sid: 'nobody', reason: 'stopped', at: 1 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'ok1' });
      const closed = once(t.ws, 'close');
      t.send('{"type":"bogus"}');
      const [code] = (await closed) as [number];
      assert.equal(code, 1008);
    } finally {
      await t.close();
    }
    const health = await h.server.app.inject({ method: 'GET', url: '/v1/health' });
    assert.equal(health.statusCode, 200);
  });

  it('refuses a wrong secret, a missing secret and a wrong path', async () => {
    const base = url.replace(/^http/, 'ws');
    async function refusal(path: string, headers: Record<string, string>): Promise<number> {
      const ws = new WebSocket(`${base}${path}`, { headers });
      ws.on('error', () => undefined);
      const [req, res] = (await once(ws, 'unexpected-response')) as [{ destroy(): void }, { statusCode: number; resume(): void }];
      res.resume();
      req.destroy();
      return res.statusCode;
    }
    assert.equal(await refusal(DEFAULTS.controlLinkPath, { authorization: 'Bearer wrong' }), 401);
    assert.equal(await refusal(DEFAULTS.controlLinkPath, {}), 401);
    assert.equal(await refusal('/elsewhere', { authorization: 'Bearer tracker-secret' }), 404);
  });

  it('gives sessions a reconnecting tracker does not list a grace to come back, then ends the rest as lost', async () => {
    const first = await FakeTracker.connect(url);
    await first.hello('t-resync');
    const kept = await admit();
    const back = await admit();
    const gone = await admit();
    for (const [i, sid] of [kept, back, gone].entries()) {
      first.send({ type: 'join', id: `r${i}`, sid, ip: '10.0.0.1', port: 7000 + i, at: 5 });
      await first.next();
    }
    await first.close();

    const again = await FakeTracker.connect(url);
    try {
      const welcome = await again.hello('t-resync', [kept]);
      // Restarted and forgot two: neither is ended nor refused yet; their clients may be re-announcing.
      assert.deepEqual(welcome.type === 'welcome' ? welcome.revoked : null, []);
      assert.equal(h.server.link.awaitingRejoin, 2);
      for (const sid of [kept, back, gone]) assert.equal((await h.store.getSession(sid))?.state, 'joined');
      // One client re-announces to the restarted tracker, which reports it joined (same address).
      again.send({ type: 'join', id: 'r-back', sid: back, ip: '10.0.0.1', port: 7001, at: 9 });
      assert.deepEqual(await again.next(), { type: 'ack', id: 'r-back' });
      h.clock.advance(DEFAULTS.trackerRejoinGraceMs - 1);
      assert.equal((await h.store.getSession(gone))?.state, 'joined');
      h.clock.advance(1);
      await waitFor(async () => (await h.store.getSession(gone))?.state === 'ended');
      assert.equal((await h.store.getSession(gone))?.endReason, 'lost');
      assert.equal((await h.store.getSession(kept))?.state, 'joined');
      assert.equal((await h.store.getSession(back))?.state, 'joined');
      assert.equal(h.server.link.awaitingRejoin, 0);
    } finally {
      await again.close();
    }
  });

  it('hands out the most recently connected tracker', async () => {
    const a = await FakeTracker.connect(url);
    const b = await FakeTracker.connect(url);
    try {
      await a.hello('t-a');
      b.send({ type: 'hello', tracker_id: 't-b', announce_url: 'http://b.example:6969/announce?x=1', ws_url: 'ws://b.example/ws', sessions: [] });
      await b.next();
      const res = await h.server.app.inject({
        method: 'POST',
        url: '/v1/programs/news/request',
        payload: { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey },
      });
      const m = (res.json() as AdmissionResult).metadata;
      assert.equal(m.tracker.ws, 'ws://b.example/ws');
      const announce = new URL(m.tracker.announce);
      assert.equal(announce.host, 'b.example:6969');
      assert.equal(announce.searchParams.get('x'), '1');
      assert.ok(announce.searchParams.get('token'));
      await b.close();
      await waitFor(() => h.server.trackers().length === 1);
      const res2 = await h.server.app.inject({
        method: 'POST',
        url: '/v1/programs/news/request',
        payload: { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey },
      });
      assert.equal((res2.json() as AdmissionResult).metadata.tracker.ws, 'ws://127.0.0.1:6969/ws');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('tracker link keepalive', () => {
  it('cuts off a tracker silent for a whole ping period, not one that talks', async () => {
    const h = await startServer({ linkKeepaliveMs: 1_000 });
    const url = await h.server.listen(0);
    const talker = await FakeTracker.connect(url);
    const silent = new FakeTracker(
      new WebSocket(`${url.replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`, { headers: { authorization: 'Bearer tracker-secret' }, autoPong: false }),
    );
    try {
      await once(silent.ws, 'open');
      await talker.hello('talker');
      await silent.hello('silent');
      const pinged = once(silent.ws, 'ping');
      h.clock.advance(1_000);
      await pinged;
      talker.send({ type: 'leave', id: 'k1', sid: 'nobody', reason: 'stopped', at: 1 });
      await talker.next();
      const closed = once(silent.ws, 'close');
      h.clock.advance(1_000);
      await closed;
      assert.equal(talker.ws.readyState, WebSocket.OPEN);
    } finally {
      await talker.close();
      await silent.close();
      await h.close();
    }
  });
});
