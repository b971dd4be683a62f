/** Defaults for every component, in one place so docs/OPERATIONS.md can name them. */
export const DEFAULTS = {
  tokenTtlS: 300,
  /** Renew when this share of the token's life has passed. */
  tokenRenewAt: 0.5,
  /** A client with no heartbeat for this long is considered gone (step D). */
  heartbeatTimeoutMs: 8_000,
  announceIntervalS: 30,
  numwant: 30,
  maxNumwant: 200,
  packetsPerPiece: 174,
  programBitrateBps: 2_000_000,
  /** How much of the past a peer keeps and serves, in seconds. */
  windowS: 30,
  /** Maximum peer connections a viewer keeps. */
  maxPeers: 24,
  /** Upload slots (unchoked peers) a viewer keeps. */
  uploadSlots: 16,
  /** A revoked peer's connection stays open this long (nothing sent to it) so its `leaving` is heard. */
  revokeGraceMs: 1_000,
  /** Playback looks for its first random access point this far behind the live edge... */
  startLagMs: 1_000,
  /** ...starts at one at least this far behind it, once this much stream from it is held. */
  minLeadMs: 1_000,
  prerollMs: 400,
  /** A gap that has held output up this long is skipped to the next random access point. */
  maxStallMs: 2_000,
  /** A player this far behind live jumps back to the start lag. */
  catchUpMs: 10_000,
  linkRetryMs: 1_000,
  controlLinkPath: '/v1/tracker/link',
} as const;

export const TS_PACKET = 188;
