/**
 * /metrics over the real parts: a control server and a tracker on loopback
 * (startLocalSystem), a real viewer admitted and joined, then kicked through
 * the whole chain A–E. Both servers' metrics parse as Prometheus text, and
 * the kick moves the control server's kick counter and every step of its
 * latency histogram; the tracker counted the viewer's announces.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { parsePrometheusText, sampleValue, type Family } from '../helpers/prometheus-text.js';
import { waitFor } from './helpers.js';

let sys: LocalSystem | null = null;
after(async () => {
  await sys?.stop();
});

async function scrape(base: string): Promise<Map<string, Family>> {
  const res = await fetch(`${base}/metrics`);
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return parsePrometheusText(body);
}

const stepCount = (m: Map<string, Family>, step: string): number =>
  sampleValue(m, 'gatecast_control_disconnect_step_seconds_count', { step }) ?? 0;

test('a kick through the real chain moves the kick counter and each step of the histogram; the tracker counted the announces', { timeout: 90_000 }, async () => {
  sys = await startLocalSystem({ adminPassword: 'metrics-e2e-admin' });
  const s = sys;
  await s.addProgram({ id: 'ch1', title: 'Channel 1' });
  const { viewer } = await s.viewer('alice', 'ch1', { http: false });
  await waitFor('alice joined', async () => (await s.admin.listSessions()).some((x) => x.id === viewer.sid && x.state === 'joined'), 20_000);

  const before = await scrape(s.controlUrl);
  assert.equal(sampleValue(before, 'gatecast_control_kicks_total'), 0);
  assert.equal(sampleValue(before, 'gatecast_control_admissions_total', { result: 'ok' }), 1);
  assert.equal(sampleValue(before, 'gatecast_control_sessions', { program: 'ch1', role: 'viewer', state: 'joined' }), 1);
  assert.equal(sampleValue(before, 'gatecast_control_trackers_connected'), 1);
  assert.equal(stepCount(before, 'command_sent'), 0);

  await s.admin.kick({ session: viewer.sid }, 'metrics e2e');
  // control_ack is the chain's last step: once it is counted, every earlier one is.
  const afterKick = await waitFor('the kick chain completed', async () => {
    const m = await scrape(s.controlUrl);
    return stepCount(m, 'control_ack') >= 1 ? m : null;
  }, 30_000);
  assert.equal(sampleValue(afterKick, 'gatecast_control_kicks_total'), 1);
  for (const step of ['command_sent', 'tracker_ack', 'client_stopped', 'control_ack']) assert.equal(stepCount(afterKick, step), 1, step);
  assert.equal(sampleValue(afterKick, 'gatecast_control_disconnects_completed_total', { outcome: 'stopped' }), 1);
  const sum = (step: string): number => sampleValue(afterKick, 'gatecast_control_disconnect_step_seconds_sum', { step }) ?? NaN;
  assert.ok(sum('command_sent') <= sum('tracker_ack') && sum('tracker_ack') <= sum('control_ack'), 'steps land in chain order');
  assert.equal(sampleValue(afterKick, 'gatecast_control_sessions', { program: 'ch1' }), undefined, 'no open session left');

  const t = await scrape(s.trackerUrl);
  assert.equal(t.get('gatecast_tracker_announces_total')?.type, 'counter');
  assert.ok((sampleValue(t, 'gatecast_tracker_announces_total', { transport: 'ws', result: 'ok' }) ?? 0) >= 1, 'the viewer announced over its channel');
  assert.equal(sampleValue(t, 'gatecast_tracker_control_link_up'), 1);
  await waitFor('the tracker let the session go', async () => sampleValue(await scrape(s.trackerUrl), 'gatecast_tracker_sessions') === 0, 10_000);
});
