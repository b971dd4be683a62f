import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ManualClock } from '../../src/core/clock.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { TrackerMetrics } from '../../src/tracker/metrics.js';
import { parsePrometheusText, sampleValue, type Family } from '../helpers/prometheus-text.js';
import { announceHttp, announceQuery, failureOf, infoHashOf, keyOf, mintToken, openChannel, peerIdOf, proofFor, SECRET, startFakeControl, type FakeControl } from './helpers.js';

const TOKEN = 'tracker-scrape-token-0123456789';

interface MetricsRig {
  clock: ManualClock;
  control: FakeControl;
  tracker: Tracker;
  base: string;
  announceUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** A tracker bound to a fake control server, with its own registry holding process metrics too (as the CLI makes it). */
async function start(metricsToken: string | null = null): Promise<MetricsRig> {
  const clock = new ManualClock();
  const control = await startFakeControl();
  const store = new MemorySwarmStore();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const tracker = await createTracker({
    controlUrl: control.url,
    secret: SECRET,
    clock,
    store,
    channelLimits: { keepaliveMs: 3_600_000, bindTimeoutMs: 3_600_000 },
    webServer: webServerFactory(),
    metrics: new TrackerMetrics(registry),
    metricsToken,
  });
  const { announceUrl, wsUrl } = await tracker.start();
  await tracker.ready;
  return {
    clock,
    control,
    tracker,
    announceUrl,
    wsUrl,
    base: announceUrl.replace(/\/announce$/, ''),
    close: async () => {
      await tracker.stop();
      await store.close();
      await control.close();
    },
  };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(rig: MetricsRig, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await get(`${rig.base}/metrics`, headers);
  assert.equal(res.status, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(res.body);
}

describe('/metrics on the tracker', () => {
  it('counts announces by transport and result, and shows swarm sizes, channels and the control link', async () => {
    const rig = await start();
    const H = infoHashOf('news');
    try {
      const token = (sid: string, role: 'viewer' | 'source' = 'viewer') => mintToken(rig.control, rig.clock, { sid, prg: 'news', role });
      const src = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(0), port: 7000, token: await token('src', 'source') }));
      assert.equal(failureOf(src), undefined);
      const v1 = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(1), port: 7001, token: await token('v1') }));
      assert.equal(failureOf(v1), undefined);
      // Refused by the logic (a token it cannot verify) and by the parser (no info_hash).
      assert.ok(failureOf(await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(2), port: 7002, token: 'not-a-token' }))));
      assert.ok(failureOf(await announceHttp(rig.announceUrl, 'peer_id=x&port=1')));

      const c = await openChannel(rig.wsUrl);
      try {
        c.send({ type: 'announce', id: 'a1', token: await token('v3'), info_hash: H.toString('hex'), peer_id: peerIdOf(3).toString('hex'), port: 7003 });
        assert.equal((await c.next())['type'], 'peers');
        // Signed with another session's key: the logic refuses it (proof_invalid).
        const a2 = { info_hash: H.toString('hex'), peer_id: peerIdOf(4).toString('hex'), port: 7004 };
        c.send({ type: 'announce', id: 'a2', token: await token('v4'), ...a2, proof: proofFor(keyOf('v5'), c.nonce, { sid: 'v4', ...a2 }) });
        assert.equal((await c.next())['code'], 'proof_invalid');

        const m = await scrape(rig);
        const types: Record<string, string> = {
          gatecast_tracker_announces_total: 'counter',
          gatecast_tracker_sessions: 'gauge',
          gatecast_tracker_swarms: 'gauge',
          gatecast_tracker_channels_open: 'gauge',
          gatecast_tracker_link_backlog: 'gauge',
          gatecast_tracker_control_link_up: 'gauge',
          gatecast_tracker_pending_disconnects: 'gauge',
          gatecast_tracker_pending_revocation_pushes: 'gauge',
          process_cpu_user_seconds_total: 'counter',
          nodejs_heap_size_used_bytes: 'gauge',
        };
        for (const [name, type] of Object.entries(types)) assert.equal(m.get(name)?.type, type, name);
        const announces = (transport: string, result: string) => sampleValue(m, 'gatecast_tracker_announces_total', { transport, result });
        assert.equal(announces('http', 'ok'), 2);
        assert.equal(announces('http', 'token_invalid'), 1);
        assert.equal(announces('http', 'invalid_request'), 1);
        assert.equal(announces('ws', 'ok'), 1);
        assert.equal(announces('ws', 'proof_invalid'), 1);
        assert.equal(sampleValue(m, 'gatecast_tracker_sessions'), 3);
        assert.equal(sampleValue(m, 'gatecast_tracker_swarms'), 1);
        assert.equal(sampleValue(m, 'gatecast_tracker_channels_open'), 1);
        assert.equal(sampleValue(m, 'gatecast_tracker_control_link_up'), 1);
        assert.deepEqual(rig.tracker.sessions().length, 3);
      } finally {
        await c.close();
      }
    } finally {
      await rig.close();
    }
  });

  it('holds unacked joins as the control-link backlog', async () => {
    const rig = await start();
    try {
      rig.control.dropFirstAck = true;
      const a = await announceHttp(rig.announceUrl, announceQuery({ infoHash: infoHashOf('news'), peerId: peerIdOf(1), port: 7001, token: await mintToken(rig.control, rig.clock, { sid: 'v1', prg: 'news' }) }));
      assert.equal(failureOf(a), undefined);
      await rig.control.received.waitFor((msg) => msg.type === 'join');
      await rig.control.flush();
      assert.equal(sampleValue(await scrape(rig), 'gatecast_tracker_link_backlog'), 1);
    } finally {
      await rig.close();
    }
  });

  it('with --metrics-token answers only its bearer: 401 with a Bearer challenge otherwise, loopback included', async () => {
    const rig = await start(TOKEN);
    try {
      for (const headers of [{}, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { authorization: `Bearer ${TOKEN}0` }, { authorization: `Bearer ${SECRET}` }] as Record<string, string>[]) {
        const res = await get(`${rig.base}/metrics`, headers);
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="gatecast-metrics"');
        assert.doesNotMatch(res.body, /gatecast_/);
      }
      const m = await scrape(rig, { authorization: `Bearer ${TOKEN}` });
      assert.equal(m.get('gatecast_tracker_announces_total')?.type, 'counter');
    } finally {
      await rig.close();
    }
  });

  it('without a token refuses a request that came through a proxy (403)', async () => {
    const rig = await start();
    try {
      const res = await get(`${rig.base}/metrics`, { 'x-forwarded-for': '198.51.100.7' });
      assert.equal(res.status, 403);
      assert.match(res.body, /loopback/);
    } finally {
      await rig.close();
    }
  });
});
