/**
 * Route schemas of the control server's own routes (admission's are shared
 * with clients in protocol/control-api.ts). Every body object forbids extra
 * properties, which fastify's validator strips rather than refuses.
 */
import { Type, type Static } from '@sinclair/typebox';

const NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
const Name = Type.String({ pattern: NAME_PATTERN, description: 'letters, digits, _ . -; 1 to 64 characters' });
export const IsoTime = Type.String({ description: 'ISO 8601 date-time (UTC)' });
const NullableIso = Type.Union([IsoTime, Type.Null()]);

export const NameParams = Type.Object({ name: Type.String({ maxLength: 256 }) });
export const IdParams = Type.Object({ id: Type.String({ maxLength: 256 }) });
export const SidParams = Type.Object({ sid: Type.String({ maxLength: 256 }) });
export const SubscriptionParams = Type.Object({ user: Type.String({ maxLength: 256 }), program: Type.String({ maxLength: 256 }) });

/** A concurrent-session limit: a whole number from 1, or null for none of its own. */
const MaxSessions = Type.Union([Type.Integer({ minimum: 1, maximum: 10_000 }), Type.Null()]);

export const CreateUserBody = Type.Object(
  { name: Name, password: Type.String({ minLength: 1, maxLength: 1024 }), max_sessions: Type.Optional(MaxSessions) },
  { additionalProperties: false },
);

export const PatchUserBody = Type.Object({ max_sessions: MaxSessions }, { additionalProperties: false });
export type PatchUserBody = Static<typeof PatchUserBody>;
export type CreateUserBody = Static<typeof CreateUserBody>;

const SourceKey = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });

export const CreateProgramBody = Type.Object(
  {
    id: Name,
    title: Type.String({ minLength: 1, maxLength: 200 }),
    bitrate_bps: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 1_000_000_000 })),
    length_s: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 10 * 365 * 86_400 }), Type.Null()])),
    packets_per_piece: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_048 })),
    /** The program's source public key (raw Ed25519, base64url), its private key kept by the operator; required (checked in the route, for a clear message). */
    source_key: Type.Optional(SourceKey),
  },
  { additionalProperties: false },
);
export type CreateProgramBody = Static<typeof CreateProgramBody>;

/** `programs rekey`: a new source public key made where the broadcaster runs. */
export const PatchProgramBody = Type.Object({ source_key: SourceKey }, { additionalProperties: false });
export type PatchProgramBody = Static<typeof PatchProgramBody>;

export const PutSubscriptionBody = Type.Object(
  {
    user: Type.String({ minLength: 1, maxLength: 64 }),
    program: Type.String({ minLength: 1, maxLength: 64 }),
    until: Type.Optional(Type.Union([Type.String({ maxLength: 64, description: 'ISO 8601 date or date-time' }), Type.Null()])),
    max_sessions: Type.Optional(MaxSessions),
  },
  { additionalProperties: false },
);
export type PutSubscriptionBody = Static<typeof PutSubscriptionBody>;

export const SubscriptionsQuery = Type.Object(
  { user: Type.Optional(Type.String({ maxLength: 64 })), program: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);

export const SessionsQuery = Type.Object(
  {
    all: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')], { description: 'include ended sessions' })),
    user: Type.Optional(Type.String({ maxLength: 64 })),
    program: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const UserView = Type.Object({
  name: Type.String(),
  is_admin: Type.Boolean(),
  created_at: IsoTime,
  /** null: the server's default (none unless configured). */
  max_sessions: Type.Union([Type.Integer(), Type.Null()]),
});
export type UserView = Static<typeof UserView>;

export const ProgramView = Type.Object({
  id: Type.String(),
  title: Type.String(),
  bitrate_bps: Type.Integer(),
  length_s: Type.Union([Type.Number(), Type.Null()]),
  data_size: Type.Union([Type.Number(), Type.Null()]),
  packets_per_piece: Type.Integer(),
  piece_length: Type.Integer(),
  info_hash: Type.String(),
  source_key: Type.String(),
  created_at: IsoTime,
});
export type ProgramView = Static<typeof ProgramView>;

export const SubscriptionView = Type.Object({
  user: Type.String(),
  program: Type.String(),
  until: NullableIso,
  active: Type.Boolean(),
  created_at: IsoTime,
  /** Overrides the user's limit for this program; null: the user's. */
  max_sessions: Type.Union([Type.Integer(), Type.Null()]),
});
export type SubscriptionView = Static<typeof SubscriptionView>;

const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** A session's latest client-measured QoE (docs/API.md); null until its first report. */
export const SessionQoeView = Type.Object({
  continuity: Type.Number({ description: 'pieces on time by their playback deadline ÷ pieces due (0..1)' }),
  stalled_s: Type.Number({ description: 'seconds the player waited for late pieces' }),
  startup_s: Type.Union([Type.Number(), Type.Null()], { description: 'program request → first byte played; null before playback' }),
  behind_live_s: Type.Union([Type.Number(), Type.Null()], { description: 'how far playback is behind the source' }),
  down_bps: Type.Number(),
  up_bps: Type.Number(),
  from_peers_share: Type.Union([Type.Number(), Type.Null()], { description: 'share of downloaded bytes that came from viewers (0..1)' }),
  peers: Type.Integer(),
  updated_at: IsoTime,
});
export type SessionQoeView = Static<typeof SessionQoeView>;

/** GET /v1/admin/programs/:id/stats: the program's QoE aggregates over its viewers' fresh reports. */
export const ProgramStatsView = Type.Object({
  program: Type.String(),
  updated_at: IsoTime,
  viewers: Type.Integer({ description: 'open viewer sessions' }),
  reporting: Type.Integer({ description: 'viewers whose latest report is at most fresh_s old; the figures below are theirs' }),
  fresh_s: Type.Number(),
  continuity_median: NullableNumber,
  continuity_worst: NullableNumber,
  startup_median_s: NullableNumber,
  stalled_median_s: NullableNumber,
  behind_live_median_s: NullableNumber,
  behind_live_threshold_s: Type.Number(),
  behind_live_over: Type.Integer({ description: 'reporting viewers further behind live than behind_live_threshold_s' }),
  from_peers_share: Type.Union([Type.Number(), Type.Null()], { description: 'bytes from peers ÷ bytes downloaded, over the reporting viewers' }),
  down_bps: Type.Number(),
  up_bps: Type.Number(),
  source_bps: Type.Number({ description: 'what the source uploads to the reporting viewers (sum of their rates from it)' }),
  peers_median: NullableNumber,
});
export type ProgramStatsView = Static<typeof ProgramStatsView>;

export const SessionView = Type.Object({
  id: Type.String(),
  user: Type.String(),
  program: Type.String(),
  role: Type.Union([Type.Literal('viewer'), Type.Literal('source')]),
  state: Type.Union([Type.Literal('admitted'), Type.Literal('joined'), Type.Literal('ended')]),
  ip: Type.Union([Type.String(), Type.Null()]),
  port: Type.Union([Type.Integer(), Type.Null()]),
  tracker: Type.Union([Type.String(), Type.Null()]),
  since: IsoTime,
  joined_at: NullableIso,
  ended_at: NullableIso,
  end_reason: Type.Union([Type.String(), Type.Null()]),
  /** The client's latest QoE report; null until the first. Optional only for servers from before it existed. */
  qoe: Type.Optional(Type.Union([SessionQoeView, Type.Null()])),
});
export type SessionView = Static<typeof SessionView>;

export const TrackerView = Type.Object({ id: Type.String(), announce_url: Type.String(), ws_url: Type.String(), connected_at: IsoTime });

export const ServiceInfo = Type.Object({
  service: Type.String(),
  version: Type.String(),
  links: Type.Record(Type.String(), Type.String()),
});

export const KickBody = Type.Object(
  {
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    session: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'shown to the viewer' })),
  },
  { additionalProperties: false },
);
export type KickBody = Static<typeof KickBody>;

export const DisconnectsQuery = Type.Object(
  {
    pending: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')], { description: 'only pending ones' })),
    session: Type.Optional(Type.String({ maxLength: 256 })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$', description: 'at most this many, newest first (default 100, max 10000)' })),
  },
  { additionalProperties: false },
);

export const TimelineView = Type.Object({
  event: Type.String(),
  at: IsoTime,
  /** Milliseconds since the kick command. */
  ms: Type.Integer(),
  detail: Type.Optional(Type.String()),
});

export const DisconnectView = Type.Object({
  id: Type.String(),
  session: Type.String(),
  user: Type.String(),
  program: Type.String(),
  reason: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('completed')]),
  outcome: Type.Union([Type.String(), Type.Null()]),
  tracker: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  created_at: IsoTime,
  completed_at: NullableIso,
  /** Kick command → completion, in ms; null while pending. */
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  timeline: Type.Array(TimelineView),
});
export type DisconnectView = Static<typeof DisconnectView>;
export const DisconnectList = Type.Object({ disconnects: Type.Array(DisconnectView) });
