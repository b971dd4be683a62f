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
  /**
   * The peer engine's timings and limits, one set (docs/OPERATIONS.md "Peer engine" lists them). The swarm,
   * picker, choker, connections and the client lifecycle read them from here; none is a literal in policy code.
   */
  peer: {
    /** The swarm's timer: timed-out requests released and a pass of the picker. */
    tickMs: 50,
    /** The choker's round. */
    rechokeMs: 1_000,
    /** The optimistic unchoke slot rotates this often. */
    optimisticUnchokeMs: 3_000,
    /** Requests one viewer may have outstanding at another viewer, in pieces; at the source, one. */
    maxInFlight: 3,
    maxInFlightAtSource: 1,
    /** A request unanswered this long is released so another peer can serve it. */
    requestTimeoutMs: 3_000,
    /** Pieces due within this of the playhead are urgent (earliest deadline first); the rest go rarest first. */
    urgencyHorizonMs: 2_000,
    /** A viewer asks the source for a piece another viewer holds only when it is due within this. */
    sourceUrgencyMs: 400,
    /** A piece in flight may be asked of a second peer when due within this... */
    endgameMs: 1_000,
    /** ...and once the first request has been out this long (whichever answers first wins; the other gets a cancel). */
    endgameAfterMs: 250,
    /** At most this many peers are asked for one piece at once. */
    maxRequestsPerPiece: 2,
    /** Pieces further than this beyond the playhead are not picked (bounds the work of one pass). */
    maxLookahead: 1_024,
    /** A viewer's have or window further than this beyond the live edge is ignored (no honest viewer is that far ahead). */
    maxLeap: 4_096,
    /** The source tells this many viewers of a new piece at once (its first tier, rotating)... */
    sourceTier: 1,
    /** ...and the rest this much later, unless they heard of it from a viewer first. */
    sourceHaveDelayMs: 1_000,
    /** Block requests one peer may have queued at us; a peer asking for more loses the excess. */
    uploadQueueMax: 64,
    /** The source's connection and upload slot limits. */
    sourceMaxPeers: 200,
    sourceUploadSlots: 200,
    /** Viewers a (re)starting source asks the tracker for and dials at once. */
    sourceNumwant: 50,
    /** Keep-alive on an idle authenticated peer connection... */
    keepAliveMs: 30_000,
    /** ...and a connection that received nothing this long is closed. */
    idleTimeoutMs: 120_000,
    /** A closed connection's socket lingers this long so the last frames (a `leaving`) get out. */
    closeLingerMs: 2_000,
    /** Past a peer's token expiry, during a control outage, how often its grace is looked at again. */
    outageRecheckMs: 1_000,
    /** A viewer with fewer than half its peers re-announces this often for more. */
    reannounceMs: 3_000,
    /** The player is fed this often. */
    playbackTickMs: 50,
    /** A lost tracker channel is reopened after this, then retried this often until it is back. */
    trackerReconnectMs: 1_000,
    trackerRetryMs: 2_000,
    /** A tracker channel on which nothing came for this long (not even the tracker's ping, every trackerKeepaliveMs) is dropped as lost: three pings. */
    trackerSilenceMs: 45_000,
    /** Joining, a whole round of trackers that failed (unreachable, or their swarm store) is tried again every trackerRetryMs for this long. */
    joinRetryMs: 20_000,
  },
  /** Playback looks for its first random access point this far behind the live edge... */
  startLagMs: 1_000,
  /** ...starts at one at least this far behind it, once this much stream from it is held. */
  minLeadMs: 1_000,
  prerollMs: 400,
  /** A gap that has held output up this long is skipped to the next random access point. */
  maxStallMs: 2_000,
  /** A player this far behind live jumps back to the start lag. */
  catchUpMs: 10_000,
  /**
   * ...or this far when it is behind the crowd (no viewer it knows holds its next piece, some hold later ones):
   * only the source can feed it there, slower than the stream plays. Only such players jump, not the whole crowd.
   */
  catchUpBehindCrowdMs: 3_000,
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
  /** PostgreSQL control store (`--db postgres://…`): connections each control server keeps at most... */
  controlDbPoolMax: 10,
  /** ...how long opening one may take before the call fails (health then says database_error)... */
  controlDbConnectTimeoutMs: 5_000,
  /** ...and how long an idle one stays open. */
  controlDbIdleTimeoutMs: 30_000,
  /** Redis swarm store (`--swarm-store redis://…`): a command with no reply this long fails, and the announce with it... */
  swarmRedisCommandTimeoutMs: 1_000,
  /** ...connecting may take this long... */
  swarmRedisConnectTimeoutMs: 2_000,
  /** ...reconnects back off (by 100 ms a try) up to this, and go on until Redis is back... */
  swarmRedisRetryMaxMs: 2_000,
  /**
   * ...and a peer no tracker has refreshed for this long leaves the shared lists (a dead tracker's clients). Three
   * times the longest a live tracker keeps a silent client (an HTTP one: two announce intervals, 60 s), so a live
   * tracker has always dropped its own first.
   */
  swarmStaleMs: 180_000,
  /**
   * Several control servers on one PostgreSQL database (docs/OPERATIONS.md, "Several control servers"): the
   * instance driving a pending disconnect holds a lease this long on it, taken over by another once it runs out
   * (the instance died)...
   */
  clusterLeaseMs: 5_000,
  /** ...renewed this often while it lives (three renewals fit in a lease: one slow database round trip loses nothing)... */
  clusterLeaseRenewMs: 1_500,
  /** ...its LISTEN connection for disconnect notices, when lost, is reopened after this, doubling... */
  clusterNoticeReconnectMinMs: 100,
  /** ...up to this... */
  clusterNoticeReconnectMaxMs: 2_000,
  /** ...it refreshes the shared directory of the trackers linked to it this often... */
  clusterDirectoryRefreshMs: 2_000,
  /** ...and a directory row not refreshed this long is ignored (its instance died without removing it). */
  clusterDirectoryStaleMs: 10_000,
} as const;

export const TS_PACKET = 188;
