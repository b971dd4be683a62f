/** A plausible viewer QoE report for tests, with any figure overridden. */
import type { Qoe } from '../../src/protocol/qoe.js';

export const sampleQoe = (over: Partial<Qoe> = {}): Qoe => ({
  continuity: 0.995,
  stalled_s: 0.2,
  startup_s: 1.4,
  behind_live_s: 2.1,
  down_bps: 2_100_000,
  up_bps: 1_900_000,
  from_peers_share: 0.75,
  peers: 4,
  bytes_from_peers: 750_000,
  bytes_from_source: 250_000,
  bytes_uploaded: 600_000,
  from_source_bps: 500_000,
  ...over,
});
