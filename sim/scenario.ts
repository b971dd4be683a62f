/**
 * When viewers join and leave, per scenario, as offsets (ms) from the start
 * of the run, and which span is measured. Mirrors the real bench
 * (bench/scenarios/swarm.ts) where it can:
 * - steady: viewers join one after another over `joinS`, then `durationS` is measured;
 * - flash-crowd: all join within `spreadS` (5 s at 100 viewers, 30 s at 10,000), then `durationS` is measured;
 * - churn: as steady, then every `churnEveryS` (first at half of it) a share of the viewers leaves and as many
 *   new ones join within a second; the measured span holds the rounds.
 */
import type { Rng } from './rng.js';

export type ScenarioName = 'steady' | 'flash-crowd' | 'churn';
export const SCENARIOS: readonly ScenarioName[] = ['steady', 'flash-crowd', 'churn'];

export interface ScenarioOptions {
  scenario: ScenarioName;
  viewers: number;
  durationS: number;
  /** steady and churn: joins spread over this; default 0.1 s per viewer, at most 60 s. */
  joinS?: number;
  /** flash-crowd: joins spread over this; default 5 s up to 100 viewers, 30 s from 10,000, log-interpolated between. */
  spreadS?: number;
  churnShare?: number;
  churnEveryS?: number;
}

export interface PlanEvent {
  atMs: number;
  kind: 'join' | 'leave';
  /** Viewer number: joins number them in order; a leave names one that joined. */
  viewer: number;
}

export interface Plan {
  events: PlanEvent[];
  /** The measured span. */
  windowStartMs: number;
  windowEndMs: number;
  /** Viewers that ever join. */
  total: number;
}

export function defaultSpreadS(viewers: number): number {
  if (viewers <= 100) return 5;
  if (viewers >= 10_000) return 30;
  return 5 + (25 * Math.log10(viewers / 100)) / 2;
}

export function defaultJoinS(viewers: number): number {
  return Math.min(60, viewers * 0.1);
}

export function makePlan(o: ScenarioOptions, rng: Rng): Plan {
  const n = o.viewers;
  const events: PlanEvent[] = [];
  const spreadMs = 1000 * (o.scenario === 'flash-crowd' ? (o.spreadS ?? defaultSpreadS(n)) : (o.joinS ?? defaultJoinS(n)));
  // Evenly spaced as the bench starts them (i × spread ÷ n).
  for (let i = 0; i < n; i++) events.push({ atMs: (i * spreadMs) / n, kind: 'join', viewer: i });
  const windowStartMs = n > 0 ? ((n - 1) * spreadMs) / n : 0;
  const windowEndMs = windowStartMs + o.durationS * 1000;
  let total = n;
  if (o.scenario === 'churn') {
    const everyMs = (o.churnEveryS ?? 60) * 1000;
    const perRound = Math.round(n * (o.churnShare ?? 0.2));
    const present = Array.from({ length: n }, (_, i) => i);
    for (let at = windowStartMs + everyMs / 2; at < windowEndMs; at += everyMs) {
      for (const v of rng.sample(present, perRound)) {
        events.push({ atMs: at, kind: 'leave', viewer: v });
        present.splice(present.indexOf(v), 1);
      }
      for (let j = 0; j < perRound; j++) {
        events.push({ atMs: at + (j * 1000) / perRound, kind: 'join', viewer: total });
        present.push(total++);
      }
    }
  }
  events.sort((a, b) => a.atMs - b.atMs || (a.kind === b.kind ? a.viewer - b.viewer : a.kind === 'leave' ? -1 : 1));
  return { events, windowStartMs, windowEndMs, total };
}
