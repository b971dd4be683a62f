/**
 * The control server's HTTP API as the client side sees it: the wire schemas
 * of admission (steps a–b), renewal and broadcaster admission, and typed calls
 * over fetch. The server's routes declare these same schemas, so both sides
 * agree by construction. See docs/API.md.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ClientError, InternalError, isClientErrorCode } from '../core/errors.js';
import type { ClientTrust } from '../core/ports.js';
import type { AdmissionResult, ProgramMetadata } from '../core/types.js';
import { certificateProblem } from './certificate-problem.js';

/** Raw 32-byte Ed25519 public key, base64url without padding. */
export const Ed25519KeySchema = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'raw Ed25519 public key (32 bytes), base64url' });

/** A device credential from `POST /v1/devices`: its id (16 random bytes) and secret (32), base64url. */
export const DeviceIdSchema = Type.String({ pattern: '^[A-Za-z0-9_-]{22}$', description: 'device id (16 bytes, base64url)' });
export const DeviceSecretSchema = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'device secret (32 bytes, base64url)' });

export const ProgramRequestBody = Type.Object(
  {
    user: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    device: Type.Optional(DeviceIdSchema),
    device_secret: Type.Optional(DeviceSecretSchema),
    client_key: Ed25519KeySchema,
  },
  { additionalProperties: false, description: 'password, or device and device_secret (exactly one of the two)' },
);
export type ProgramRequestBody = Static<typeof ProgramRequestBody>;

/** `gatecast login`: a password for a device credential. */
export const DeviceLoginBody = Type.Object(
  {
    user: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    label: Type.Optional(Type.String({ maxLength: 100, description: 'what the device calls itself (host name), for the operator' })),
  },
  { additionalProperties: false },
);
export type DeviceLoginBody = Static<typeof DeviceLoginBody>;

export const DeviceLoginResultSchema = Type.Object({
  user: Type.String(),
  device: Type.String(),
  secret: Type.String(),
  expires_at: Type.Integer({ description: 'epoch ms' }),
});
export type DeviceLoginResult = Static<typeof DeviceLoginResultSchema>;

/** A viewer's credentials: its password, or a device credential from `gatecast login`. */
export type DeviceCredential = { device: string; secret: string };

export const RenewBody = Type.Object(
  {
    ts: Type.Integer({ minimum: 0, description: 'epoch ms at which the proof was made' }),
    sig: Type.String({ pattern: '^[A-Za-z0-9_-]{86}$', description: 'Ed25519 signature (base64url) over "gatecast-renew:<sid>:<ts>"' }),
  },
  { additionalProperties: false },
);
export type RenewBody = Static<typeof RenewBody>;

/** The bytes a renewal's `sig` signs: what the client proves with its session key. */
export function renewMessage(sid: string, ts: number): Buffer {
  return Buffer.from(`gatecast-renew:${sid}:${ts}`, 'utf8');
}

export const SourceRequestBody = Type.Object({ client_key: Ed25519KeySchema }, { additionalProperties: false });

const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

const TrackerEndpointSchema = Type.Object({
  announce: Type.String({ description: "BEP 3 HTTP announce URL, with the session's token" }),
  ws: Type.String({ description: "gatecast's WebSocket tracker channel" }),
});

export const ProgramMetadataSchema = Type.Object({
  program: Type.String(),
  title: Type.String(),
  info_hash: Type.String({ pattern: '^[0-9a-f]{40}$' }),
  tracker: TrackerEndpointSchema,
  trackers: Type.Optional(
    Type.Array(TrackerEndpointSchema, { minItems: 1, maxItems: 64, description: 'every connected tracker, the preferred one (tracker) first' }),
  ),
  announce_list: Type.Optional(
    Type.Array(Type.Array(Type.String()), { description: "BEP 12 announce-list: tiers of announce URLs (with the session's token)" }),
  ),
  length_s: NullableNumber,
  data_size: NullableNumber,
  bitrate_bps: Type.Integer(),
  piece_length: Type.Integer(),
  packets_per_piece: Type.Integer(),
  source_key: Type.String(),
  control_key: Type.String(),
});

export const AdmissionResultSchema = Type.Object({
  session: Type.String(),
  token: Type.String(),
  token_expires_at: Type.Integer(),
  metadata: ProgramMetadataSchema,
});

export const RenewResultSchema = Type.Object({ token: Type.String(), token_expires_at: Type.Integer() });
export type RenewResult = Static<typeof RenewResultSchema>;

/**
 * A broadcaster's admission: a session in the source role, exactly a viewer's
 * admission. It never carries a signing key: the broadcaster signs with the key
 * pair made on its own machine (`admin programs add` / `programs rekey`).
 */
export const SourceAdmissionSchema = AdmissionResultSchema;
export type SourceAdmission = AdmissionResult;

export const ErrorBodySchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

/** One reason a server is degraded: a stable machine code and a sentence for the operator (docs/OPERATIONS.md says what to do). */
export const HealthReasonSchema = Type.Object({ code: Type.String(), message: Type.String() });
export type HealthReason = Static<typeof HealthReasonSchema>;

/** `GET /v1/health` on the control server: `degraded` whenever `reasons` is not empty. Always HTTP 200 (docs/API.md says why). */
export const ControlHealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  reasons: Type.Array(HealthReasonSchema),
  trackers: Type.Integer({ description: 'trackers connected over the control link' }),
  pending_disconnects: Type.Integer({ description: 'disconnects (steps A–E) not yet completed' }),
  time: Type.String({ description: 'ISO 8601 date-time (UTC)' }),
});
export type ControlHealth = Static<typeof ControlHealthSchema>;

// The schemas must describe the core types exactly; these fail to compile if they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _metadataMatches: Same<Static<typeof ProgramMetadataSchema>, ProgramMetadata> = true;
const _admissionMatches: Same<Static<typeof AdmissionResultSchema>, AdmissionResult> = true;
void _metadataMatches;
void _admissionMatches;


const checkError = TypeCompiler.Compile(ErrorBodySchema);
const DEFAULT_TIMEOUT_MS = 10_000;

export interface ControlRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** HTTP Basic credentials, for the admin routes. */
  basic?: { user: string; password: string };
  /** Authorization: Bearer (a device's secret, for its logout). */
  bearer?: string;
  timeoutMs?: number;
}

/**
 * Node's defaults (its roots and NODE_EXTRA_CA_CERTS) through the global
 * fetch: what a call gets when its caller hands in no trust. The command line
 * always hands in its own (cli/trust.ts, from --ca).
 */
export const DEFAULT_TRUST: ClientTrust = { ca: undefined, fetch: (url, init) => fetch(url, init) };

/**
 * One call to the control server, verified as `trust` says. Resolves with the parsed JSON answer
 * (undefined for 204). Throws ClientError with the server's code and message
 * when it refuses, InternalError when it can't be reached or answers garbage.
 */
export async function controlRequest(controlUrl: string, path: string, req: ControlRequest, trust: ClientTrust = DEFAULT_TRUST): Promise<unknown> {
  const base = controlUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  if (req.bearer) headers['authorization'] = `Bearer ${req.bearer}`;
  if (req.basic) headers['authorization'] = `Basic ${Buffer.from(`${req.basic.user}:${req.basic.password}`).toString('base64')}`;
  let res: Awaited<ReturnType<ClientTrust['fetch']>>;
  try {
    res = await trust.fetch(`${base}${path}`, {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (err) {
    const cert = certificateProblem(err);
    throw new InternalError(cert ? `cannot reach control server at ${base}: ${cert}` : `cannot reach control server at ${base}`, { cause: err });
  }
  const text = await res.text().catch(() => '');
  let body: unknown = undefined;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new InternalError(`control server at ${base} answered ${res.status} with a body that is not JSON`);
    }
  }
  if (res.ok) return body;
  if (checkError.Check(body)) {
    const { code, message } = body.error;
    if (isClientErrorCode(code)) throw new ClientError(code, message);
    throw new InternalError(`control server at ${base} answered ${res.status}: ${message} (${code})`);
  }
  throw new InternalError(`control server at ${base} answered ${res.status}`);
}

function expect<T extends TSchema>(schema: T, what: string): (value: unknown) => Static<T> {
  const check = TypeCompiler.Compile(schema);
  return (value) => {
    if (!check.Check(value)) {
      const first = check.Errors(value).First();
      throw new InternalError(`control server sent a malformed ${what}${first ? ` (${first.path}: ${first.message})` : ''}`);
    }
    return value;
  };
}

const asAdmission = expect(AdmissionResultSchema, 'admission');
const asRenew = expect(RenewResultSchema, 'renewal');
const asSource = expect(SourceAdmissionSchema, 'source admission');

const seg = encodeURIComponent;

/** Steps a–b: ask for a program with the user's credentials (password or device) and the session's client key. */
export async function requestProgram(
  controlUrl: string,
  req: { program: string; user: string; password?: string; device?: DeviceCredential; clientKey: string },
  trust?: ClientTrust,
): Promise<AdmissionResult> {
  const body: ProgramRequestBody = req.device
    ? { user: req.user, device: req.device.device, device_secret: req.device.secret, client_key: req.clientKey }
    : { user: req.user, password: req.password ?? '', client_key: req.clientKey };
  return asAdmission(await controlRequest(controlUrl, `/v1/programs/${seg(req.program)}/request`, { method: 'POST', body }, trust));
}

const asDeviceLogin = expect(DeviceLoginResultSchema, 'device login');

/** `gatecast login`: trades the password for a device credential. */
export async function loginDevice(controlUrl: string, req: DeviceLoginBody, trust?: ClientTrust): Promise<DeviceLoginResult> {
  return asDeviceLogin(await controlRequest(controlUrl, '/v1/devices', { method: 'POST', body: req }, trust));
}

/** `gatecast logout`: the device revokes its own credential. */
export async function logoutDevice(controlUrl: string, cred: DeviceCredential, trust?: ClientTrust): Promise<void> {
  await controlRequest(controlUrl, `/v1/devices/${seg(cred.device)}`, { method: 'DELETE', bearer: cred.secret }, trust);
}

/** Renews a session's token; `sig` is the client key's proof (see peer/control-session.ts renewProof). */
export async function renewToken(controlUrl: string, sid: string, ts: number, sig: string, trust?: ClientTrust): Promise<RenewResult> {
  const body: RenewBody = { ts, sig };
  return asRenew(await controlRequest(controlUrl, `/v1/sessions/${seg(sid)}/renew`, { method: 'POST', body }, trust));
}

/**
 * Admits a broadcaster for `program` (admin credentials: the admin password,
 * or an admin's device credential, which a guess flood against the admin's
 * name cannot lock): its session, token, metadata and the source signing key.
 */
export async function requestSource(
  controlUrl: string,
  adminPassword: string | DeviceCredential,
  program: string,
  clientKey: string,
  adminUser = 'admin',
  trust?: ClientTrust,
): Promise<SourceAdmission> {
  return asSource(
    await controlRequest(controlUrl, `/v1/admin/programs/${seg(program)}/source`, {
      method: 'POST',
      body: { client_key: clientKey },
      ...(typeof adminPassword === 'string'
        ? { basic: { user: adminUser, password: adminPassword } }
        : { bearer: `${adminPassword.device}.${adminPassword.secret}` }),
    }, trust),
  );
}
