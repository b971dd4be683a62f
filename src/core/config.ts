/** Defaults for every component, in one place so docs/OPERATIONS.md can name them. */
export const DEFAULTS = {
  tokenTtlS: 300,
  /**
   * Renew when this share of the token's life has passed. Below one half on purpose: when the control server
   * becomes unreachable, every client's next renewal (and so its knowledge of the outage, core/outage.ts) comes
   * before any live peer's token expires, with (1 - 2 × share) of the lifetime to spare.
   */
  tokenRenewAt: 0.4,
  /** A client with no heartbeat for this long is considered gone (step D). */
  heartbeatTimeoutMs: 8_000,
  /** The tracker's expiry sweep runs this often (tracker/expiry.ts)... */
  trackerSweepMs: 1_000,
  /**
   * ...and a sweep this much later than due means the tracker was stopped or its loop blocked: that pass expires
   * nobody, every session is credited the stalled time, and the next sweep (one period on, after the loop has read
   * the queued heartbeats) judges.
   */
  trackerStallMarginMs: 1_000,
  /**
   * A session a reconnecting tracker does not list in its hello (it restarted and forgot) must be reported joined
   * again within this, or the control server ends it as `lost`. Its client redials the tracker every 2 s and must
   * announce within its heartbeat timeout anyway, so a live client is back well inside it.
   */
  trackerRejoinGraceMs: 12_000,
  /**
   * A control outage (core/outage.ts): tokens still valid at the last contact with the control server are honored
   * past their expiry for at most this long after it (tracker and peers alike)...
   */
  controlOutageGraceMs: 30 * 60_000,
  /** ...and for this long after the control server is reached again, while everyone's renewals go through. */
  controlOutageSettleMs: 15_000,
  announceIntervalS: 30,
  numwant: 30,
  maxNumwant: 200,
  packetsPerPiece: 174,
  programBitrateBps: 2_000_000,
  /** How much of the past a peer keeps and serves, in seconds. */
  windowS: 30,
  /** Peer connections a viewer aims for: it dials half of them and accepts inbound peers up to twice this. */
  maxPeers: 24,
  /** Upload slots (unchoked peers) a viewer keeps. */
  uploadSlots: 16,
  /** A peer socket must finish the Noise handshake within this (peer/secure-channel.ts)... */
  peerChannelTimeoutMs: 5_000,
  /** ...and then the token exchange (gc_auth both ways) within this. */
  peerAuthTimeoutMs: 5_000,
  /** Inbound peer sockets not yet authenticated, at most, in total and per remote address (apart from maxPeers). */
  peerPendingMax: 64,
  peerPendingPerAddress: 8,
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
  /** Every HTTP server (control, tracker, playback): a client must send its request headers within this... */
  httpHeadersTimeoutMs: 10_000,
  /** ...and its whole request within this (a slowloris client is cut off)... */
  httpRequestTimeoutMs: 30_000,
  /** ...an idle keep-alive connection is closed after this... */
  httpKeepAliveTimeoutMs: 5_000,
  /** ...and the header/request deadlines are checked this often. */
  httpTimeoutCheckMs: 1_000,
  /** Concurrent sessions a user may hold unless the user or the subscription says otherwise (null: no limit). */
  maxSessionsPerUser: null as number | null,
  controlLinkPath: '/v1/tracker/link',
  /** Tracker channels (tracker/ws-frontend.ts): each is pinged this often; one that did not answer the last ping is dropped. */
  trackerKeepaliveMs: 15_000,
  /** A channel with no accepted announce this long after it opened is closed (4001). */
  trackerBindTimeoutMs: 10_000,
  /** A channel whose unsent replies exceed this many bytes (a client that does not read) is closed (4008)... */
  trackerMaxBufferedBytes: 1024 * 1024,
  /** ...and its socket destroyed this long after the close frame, answered or not. */
  trackerCloseGraceMs: 1_000,
  /** At most this many recent revocations ride in one `peers` answer (newest first). */
  trackerRevokedListMax: 512,
  /** A tracker channel with this many frames not yet handled is not read from until half are (backpressure on a flood). */
  trackerMaxPendingFrames: 32,
  /** Login throttling (control/login-throttle.ts): failed password checks (and checks in flight) per user name... */
  loginFailuresPerUser: 5,
  /** ...and per client address (IPv6 by /64), within this sliding window; past it, 429 rate_limited. */
  loginFailuresPerAddress: 20,
  loginWindowMs: 60_000,
  /** Throttle keys kept at most (oldest dropped first), so a flood of names cannot grow memory. */
  loginMaxTrackedKeys: 10_000,
  /** A device credential (`gatecast login`) lasts this long, then the device must log in again. */
  deviceTtlS: 90 * 86_400,
  /** Devices a user may hold at once; logging in another ends the oldest one's credential. */
  maxDevicesPerUser: 20,
  /**
   * Control health (`/v1/health`) is `degraded` (disconnect_backlog) when a disconnect has been pending longer than
   * this: a chain normally ends within the heartbeat timeout (8 s) plus a few retries, so 30 s means it is stuck
   * (its tracker is gone, or the client neither stops nor times out)...
   */
  healthDisconnectMaxAgeMs: 30_000,
  /** ...or when more than this many are pending at once (a mass kick larger than the chain drains quickly). */
  healthDisconnectMaxPending: 1_000,
  /**
   * Tracker health (`/health`) is `degraded` (report_backlog) when more joins and leaves than this wait for the
   * control server's ack: with the link up they are acked within a round trip, so a pile means the control server
   * is not keeping up (or not answering).
   */
  healthReportBacklogMax: 1_000,
} as const;

export const TS_PACKET = 188;
