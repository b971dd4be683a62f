import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSimArgs } from '../../sim/args.js';
import { simulate } from '../../sim/simulation.js';
import type { SimResult } from '../../sim/report.js';

/** The figures of a run without what measures this machine rather than the simulation. */
function figures(r: SimResult): string {
  const { wall_s: _wall, cpu_s: _cpu, peak_rss_mb: _rss, ...rest } = r;
  return JSON.stringify(rest);
}

const run = (argv: string[]): Promise<SimResult> => simulate(parseSimArgs(['--progress', '0', ...argv]));

test('one seed, one run: the same seed gives the same JSON, another seed another', async () => {
  const argv = ['--viewers', '30', '--duration', '8', '--links', 'wan', '--scenario', 'churn', '--churn-every-s', '4', '--join-s', '2'];
  const a = await run([...argv, '--seed', '5']);
  const b = await run([...argv, '--seed', '5']);
  const c = await run([...argv, '--seed', '6']);
  assert.equal(figures(a), figures(b));
  assert.notEqual(figures(a), figures(c));
  assert.ok(a.events > 10_000, `${a.events} events`);
});

test('a small steady swarm plays: every viewer starts and keeps up, and the viewers carry the stream', async () => {
  const n = 30;
  const r = await run(['--viewers', String(n), '--duration', '8', '--links', 'loopback']);
  const d = r.detail as { never_played_count: number; viewers_total: number; bytes_received_from_source_share: number };
  assert.equal(r.viewers, n);
  assert.equal(d.never_played_count, 0);
  assert.ok((r.continuity.min ?? 0) >= 0.95, `continuity min ${r.continuity.min}`);
  assert.ok((r.startup_s.p95 ?? Infinity) <= 2, `startup p95 ${r.startup_s.p95}`);
  // One copy of the stream for all 30 would be 1/30 of what they receive; the source sends barely more than that.
  assert.ok((r.source_share ?? 1) <= 1.5 / n, `source share ${r.source_share}`);
  assert.ok(d.bytes_received_from_source_share < 0.1, `share of bytes from the source ${d.bytes_received_from_source_share}`);
  assert.ok((r.latency_s.p95 ?? Infinity) < 2, `latency p95 ${r.latency_s.p95}`);
});
