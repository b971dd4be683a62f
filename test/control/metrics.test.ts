import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ManualClock } from '../../src/core/clock.js';
import { checkMetricsAccess, isLoopbackAddress, sameToken } from '../../src/core/metrics-access.js';
import { createControlServer } from '../../src/control/index.js';
import { ControlMetrics } from '../../src/control/metrics.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { parsePrometheusText, sampleValue, type Family } from '../helpers/prometheus-text.js';
import { sampleQoe } from '../helpers/qoe-sample.js';
import { runCli } from '../e2e/helpers.js';
import { joinedSession, probe } from './disconnect-helpers.js';
import { ADMIN_PASSWORD, FakeTracker, TRACKER_SECRET, newClientKey, seed, type Harness } from './helpers.js';

const TOKEN = 'scrape-token-0123456789abcdef';
const RETRY = 1_000;

interface MetricsHarness extends Harness {
  url: string;
  tracker: FakeTracker;
}

/** A listening control server with its own registry (process metrics on it, as the CLI does), seeded, one fake tracker connected. */
async function start(opts: { metricsToken?: string } = {}): Promise<MetricsHarness> {
  const store = new SqliteControlStore(':memory:');
  const clock = new ManualClock(Date.now());
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const server = await createControlServer({
    store,
    clock,
    adminPassword: ADMIN_PASSWORD,
    trackerSecret: TRACKER_SECRET,
    linkKeepaliveMs: null,
    disconnectRetryMs: RETRY,
    expiryCheckMs: null,
    webServer: webServerFactory(),
    metrics: new ControlMetrics(registry),
    metricsToken: opts.metricsToken ?? null,
  });
  const url = await server.listen(0);
  const h: Harness = { server, store, clock, close: async () => undefined };
  await seed(h);
  const tracker = await FakeTracker.connect(url);
  await tracker.hello();
  return {
    server,
    store,
    clock,
    url,
    tracker,
    async close() {
      await tracker.close();
      await server.close();
      await store.close();
    },
  };
}

/** A GET over real HTTP (fetch would hide nothing here, but node:http lets a test set any header). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(h: MetricsHarness, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await get(`${h.url}/metrics`, headers);
  assert.equal(res.status, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.equal(res.headers['cache-control'], 'no-store');
  return parsePrometheusText(res.body);
}

const typeOf = (m: Map<string, Family>, name: string): string | undefined => m.get(name)?.type;

async function admit(h: MetricsHarness, password: string): Promise<number> {
  const res = await fetch(`${h.url}/v1/programs/news/request`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'alice', password, client_key: newClientKey().publicKey }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('/metrics on the control server', () => {
  it('parses as Prometheus text with every family typed, admissions by result and open sessions by program and role', async () => {
    const h = await start();
    try {
      assert.equal(await admit(h, 'pw-alice'), 200);
      assert.equal(await admit(h, 'wrong'), 401);
      // A body the schema refuses never reaches the route's handler: still counted, as the code it answered with.
      const bad = await fetch(`${h.url}/v1/programs/news/request`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":1}' });
      assert.equal(bad.status, 400);
      await bad.arrayBuffer();
      const m = await scrape(h);

      const expected: Record<string, string> = {
        gatecast_control_admissions_total: 'counter',
        gatecast_control_kicks_total: 'counter',
        gatecast_control_disconnects_completed_total: 'counter',
        gatecast_control_disconnect_retries_total: 'counter',
        gatecast_control_disconnect_step_seconds: 'histogram',
        gatecast_control_sessions: 'gauge',
        gatecast_control_trackers_connected: 'gauge',
        gatecast_control_link_pending_disconnects: 'gauge',
        gatecast_control_sessions_awaiting_rejoin: 'gauge',
        gatecast_program_qoe_continuity_median: 'gauge',
        gatecast_program_qoe_from_peers_share: 'gauge',
        process_cpu_user_seconds_total: 'counter',
        process_resident_memory_bytes: 'gauge',
        nodejs_eventloop_lag_seconds: 'gauge',
        nodejs_heap_size_used_bytes: 'gauge',
      };
      for (const [name, type] of Object.entries(expected)) assert.equal(typeOf(m, name), type, name);
      for (const f of m.values()) assert.ok(f.help, `${f.name} has a HELP line`);

      assert.equal(sampleValue(m, 'gatecast_control_admissions_total', { result: 'ok' }), 1);
      assert.equal(sampleValue(m, 'gatecast_control_admissions_total', { result: 'invalid_credentials' }), 1);
      assert.equal(sampleValue(m, 'gatecast_control_admissions_total', { result: 'invalid_request' }), 1);
      assert.equal(sampleValue(m, 'gatecast_control_sessions', { program: 'news', role: 'viewer', state: 'admitted' }), 1);
      assert.equal(sampleValue(m, 'gatecast_control_trackers_connected'), 1);
      assert.equal(sampleValue(m, 'gatecast_control_kicks_total'), 0);
    } finally {
      await h.close();
    }
  });

  it('a kick moves the kick counter and each chain step lands in the histogram with its latency from the kick', async () => {
    const h = await start();
    try {
      await joinedSession(h, h.tracker, 's1');
      const before = await scrape(h);
      assert.equal(sampleValue(before, 'gatecast_control_kicks_total'), 0);
      assert.equal(sampleValue(before, 'gatecast_control_disconnect_step_seconds_count', { step: 'command_sent' }), undefined);
      assert.equal(sampleValue(before, 'gatecast_control_sessions', { program: 'news', state: 'joined' }), 1);

      const kick = await fetch(`${h.url}/v1/admin/kick`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` },
        body: JSON.stringify({ session: 's1', reason: 'metrics test' }),
      });
      assert.equal(kick.status, 200);
      await kick.arrayBuffer();
      const cmd = await h.tracker.next();
      assert.equal(cmd.type, 'disconnect');
      if (cmd.type !== 'disconnect') return;
      h.clock.advance(RETRY); // unacked for a period: resent once
      assert.deepEqual(await h.tracker.next(), cmd);
      h.clock.advance(250);
      h.tracker.send({ type: 'ack', id: cmd.id });
      await probe(h.tracker, 1);
      await h.server.orchestrator.idle();
      const mid = await scrape(h);
      assert.equal(sampleValue(mid, 'gatecast_control_kicks_total'), 1);
      assert.equal(sampleValue(mid, 'gatecast_control_disconnect_retries_total'), 1);
      assert.equal(sampleValue(mid, 'gatecast_control_link_pending_disconnects'), 1);
      assert.equal(sampleValue(mid, 'gatecast_control_disconnect_step_seconds_count', { step: 'tracker_ack' }), 1);
      assert.equal(sampleValue(mid, 'gatecast_control_disconnect_step_seconds_sum', { step: 'tracker_ack' }), 1.25);

      h.clock.advance(500);
      h.tracker.send({ type: 'leave', id: 'l1', sid: 's1', reason: 'stopped', ref: cmd.id, at: h.clock.now() });
      assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'l1' });
      await h.server.orchestrator.idle();
      const after = await scrape(h);
      const step = (s: string, what: 'count' | 'sum'): number | undefined => sampleValue(after, `gatecast_control_disconnect_step_seconds_${what}`, { step: s });
      assert.deepEqual(
        ['command_sent', 'tracker_ack', 'client_stopped', 'control_ack'].map((s) => step(s, 'count')),
        [1, 1, 1, 1],
      );
      assert.equal(step('command_sent', 'sum'), 0);
      assert.equal(step('client_stopped', 'sum'), 1.75);
      assert.equal(step('control_ack', 'sum'), 1.75);
      // The kick's bucket: 1.75 s is over 1 s and within 2.5 s.
      assert.equal(sampleValue(after, 'gatecast_control_disconnect_step_seconds_bucket', { step: 'client_stopped', le: '1' }), 0);
      assert.equal(sampleValue(after, 'gatecast_control_disconnect_step_seconds_bucket', { step: 'client_stopped', le: '2.5' }), 1);
      assert.equal(sampleValue(after, 'gatecast_control_disconnects_completed_total', { outcome: 'stopped' }), 1);
      assert.equal(sampleValue(after, 'gatecast_control_kicks_total'), 1, 'counted once, not per resend');
      assert.equal(sampleValue(after, 'gatecast_control_link_pending_disconnects'), 0);
      assert.equal(sampleValue(after, 'gatecast_control_sessions', { program: 'news' }), undefined, 'the ended session is gone from the gauge');
    } finally {
      await h.close();
    }
  });

  it("shows each program's QoE aggregates from its viewers' reports", async () => {
    const h = await start();
    try {
      await joinedSession(h, h.tracker, 's1');
      h.tracker.send({ type: 'qoe', items: [{ sid: 's1', qoe: sampleQoe({ continuity: 0.97, bytes_from_peers: 600_000, bytes_from_source: 400_000 }), age_ms: 0 }] });
      await probe(h.tracker, 1); // the frame before it has been read
      let m = await scrape(h);
      for (let i = 0; i < 50 && sampleValue(m, 'gatecast_program_qoe_viewers_reporting', { program: 'news' }) !== 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
        m = await scrape(h);
      }
      assert.equal(sampleValue(m, 'gatecast_program_qoe_viewers_reporting', { program: 'news' }), 1);
      assert.equal(sampleValue(m, 'gatecast_program_qoe_continuity_median', { program: 'news' }), 0.97);
      assert.equal(sampleValue(m, 'gatecast_program_qoe_continuity_worst', { program: 'news' }), 0.97);
      // Bytes from peers over all bytes: 600 kB of 1 MB.
      assert.equal(sampleValue(m, 'gatecast_program_qoe_from_peers_share', { program: 'news' }), 0.6);
    } finally {
      await h.close();
    }
  });

  it('with --metrics-token, answers only the bearer of that exact token (401 with a Bearer challenge otherwise)', async () => {
    const h = await start({ metricsToken: TOKEN });
    try {
      const refused: Record<string, string>[] = [
        {},
        { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Bearer ${TOKEN.slice(0, -1)}F` },
        { authorization: `Bearer ${TOKEN.toUpperCase()}` },
        { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` },
        { authorization: `Bearer ${TRACKER_SECRET}` },
      ];
      for (const headers of refused) {
        const res = await get(`${h.url}/metrics`, headers);
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="gatecast-metrics"');
        assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'unauthorized');
        assert.doesNotMatch(res.body, /gatecast_/);
      }
      const m = await scrape(h, { authorization: `Bearer ${TOKEN}` });
      assert.equal(typeOf(m, 'gatecast_control_kicks_total'), 'counter');
    } finally {
      await h.close();
    }
  });

  it('without a token, refuses a loopback request that came through a proxy (403)', async () => {
    const h = await start();
    try {
      const proxied: Record<string, string>[] = [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }];
      for (const headers of proxied) {
        const res = await get(`${h.url}/metrics`, headers);
        assert.equal(res.status, 403, JSON.stringify(headers));
        assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'forbidden');
      }
      await scrape(h);
    } finally {
      await h.close();
    }
  });
});

describe('metrics access rule (core/metrics-access.ts)', () => {
  it('without a token: loopback clients only, and not through a proxy', () => {
    const open = (remoteAddress: string, proxied = false) => checkMetricsAccess(null, { authorization: undefined, remoteAddress, proxied }).ok;
    assert.deepEqual(['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'].map((a) => open(a)), [true, true, true, true]);
    assert.deepEqual(['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.5', 'fe80::1', '', '::'].map((a) => open(a)), [false, false, false, false, false, false]);
    assert.equal(open('127.0.0.1', true), false);
    assert.equal(isLoopbackAddress('127.0.0.1.evil'), false);
  });

  it('with a token: every client must send it, loopback too; the comparison does not stop at the first differing byte or at the length', () => {
    const verdict = (authorization: string | undefined, remoteAddress = '10.0.0.5') => checkMetricsAccess(TOKEN, { authorization, remoteAddress, proxied: false });
    assert.equal(verdict(`Bearer ${TOKEN}`).ok, true);
    assert.equal(verdict(`bearer ${TOKEN}`).ok, true, 'the scheme is case-insensitive (RFC 7235)');
    assert.equal(verdict(undefined, '127.0.0.1').ok, false);
    const v = verdict(`Bearer ${TOKEN.slice(1)}`);
    assert.deepEqual(v, { ok: false, status: 401, message: 'metrics need the bearer token (--metrics-token)', challenge: 'Bearer realm="gatecast-metrics"' });
    // sameToken hashes both sides before timingSafeEqual, so tokens of any length compare without throwing or short-cutting.
    assert.equal(sameToken(TOKEN, TOKEN), true);
    for (const other of ['', 'x', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.replace(/.$/, 'g'), 'y'.repeat(10_000)]) assert.equal(sameToken(other, TOKEN), false, other);
  });
});

describe('--metrics-token on the command line', () => {
  it('refuses (exit 2) a token too short to resist guessing, or one equal to a secret that opens more', async () => {
    const env = { GATECAST_ADMIN_PASSWORD: 'admin-password-for-cli-test', GATECAST_TRACKER_SECRET: 'tracker-secret-for-cli-test' };
    const short = await runCli(['control', '--db', ':memory:', '--port', '0', '--metrics-token', 'short'], { env, timeoutMs: 60_000 });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /metrics token must be 16 to 256 characters/);
    const reused = await runCli(['tracker', '--control', 'http://127.0.0.1:9', '--port', '0'], {
      env: { ...env, GATECAST_METRICS_TOKEN: env.GATECAST_TRACKER_SECRET },
      timeoutMs: 60_000,
    });
    assert.equal(reused.code, 2);
    assert.match(reused.stderr, /metrics token must differ from the admin password and the tracker secret/);
  });
});
