/**
 * Typed admin calls to the control server, for `gatecast admin` (and any
 * operator tooling). Built on protocol/control-api's controlRequest, so errors
 * are ClientError (the server refused) or InternalError (unreachable/garbage).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { InternalError } from '../core/errors.js';
import type { ClientTrust } from '../core/ports.js';
import { controlRequest, type ControlRequest, type DeviceCredential } from '../protocol/control-api.js';
import { DisconnectView, ProgramView, SessionView, SubscriptionView, UserView } from '../control/schemas.js';

export { requestProgram, renewToken, requestSource } from '../protocol/control-api.js';
export type { DisconnectView, ProgramView, SessionView, SubscriptionView, UserView } from '../control/schemas.js';

function checker<T extends TSchema>(schema: T, what: string): (v: unknown) => Static<T> {
  const check = TypeCompiler.Compile(schema);
  return (v) => {
    if (!check.Check(v)) throw new InternalError(`control server sent a malformed ${what}`);
    return v;
  };
}

const asUser = checker(UserView, 'user');
const asUsers = checker(Type.Object({ users: Type.Array(UserView) }), 'user list');
const asProgram = checker(ProgramView, 'program');
const asPrograms = checker(Type.Object({ programs: Type.Array(ProgramView) }), 'program list');
const asSubscription = checker(SubscriptionView, 'subscription');
const asSubscriptions = checker(Type.Object({ subscriptions: Type.Array(SubscriptionView) }), 'subscription list');
const asSessions = checker(Type.Object({ sessions: Type.Array(SessionView) }), 'session list');
const asDisconnects = checker(Type.Object({ disconnects: Type.Array(DisconnectView) }), 'disconnect list');
const asDisconnect = checker(DisconnectView, 'disconnect');
const asLogoutAll = checker(Type.Object({ devices_revoked: Type.Integer(), disconnects: Type.Array(DisconnectView) }), 'logout-all result');

const seg = encodeURIComponent;

export interface AdminClient {
  listUsers(): Promise<UserView[]>;
  addUser(name: string, password: string, maxSessions?: number | null): Promise<UserView>;
  /** Sets (null: clears) the user's concurrent-session limit. */
  setUserMaxSessions(name: string, maxSessions: number | null): Promise<UserView>;
  removeUser(name: string): Promise<void>;
  listPrograms(): Promise<ProgramView[]>;
  addProgram(p: { id: string; title: string; bitrate_bps?: number; length_s?: number | null; packets_per_piece?: number; source_key: string }): Promise<ProgramView>;
  /** A new source public key for the program (its private key made by the caller); the info hash changes. */
  rekeyProgram(id: string, sourceKey: string): Promise<ProgramView>;
  removeProgram(id: string): Promise<void>;
  /** `until`: ISO 8601 date or date-time, or null for no expiry. */
  grant(user: string, program: string, until: string | null, maxSessions?: number | null): Promise<SubscriptionView>;
  /** Ends the subscription; the user's running sessions of the program are told to end (their disconnects). */
  revoke(user: string, program: string): Promise<DisconnectView[]>;
  listSubscriptions(filter?: { user?: string; program?: string }): Promise<SubscriptionView[]>;
  listSessions(opts?: { all?: boolean }): Promise<SessionView[]>;
  /** Ends one session, or every open session of a user; answers once the disconnects are recorded, not completed. */
  kick(target: { user: string } | { session: string }, reason?: string): Promise<DisconnectView[]>;
  listDisconnects(opts?: { pending?: boolean; session?: string; limit?: number }): Promise<DisconnectView[]>;
  getDisconnect(id: string): Promise<DisconnectView>;
  /** Signs the user out everywhere: every device credential revoked, every open session ended (its disconnects). */
  logoutAll(user: string): Promise<{ devices_revoked: number; disconnects: DisconnectView[] }>;
}

/**
 * `password`: the admin's password (HTTP Basic as `user`), or an admin's device credential from `gatecast login`.
 * `trust`: which certificates to accept (cli/trust.ts); Node's defaults when absent.
 */
export function adminClient(controlUrl: string, password: string | DeviceCredential, user = 'admin', trust?: ClientTrust): AdminClient {
  const auth = typeof password === 'string' ? { basic: { user, password } } : { bearer: `${password.device}.${password.secret}` };
  const call = (method: ControlRequest['method'], path: string, body?: unknown): Promise<unknown> =>
    controlRequest(controlUrl, path, { method, body, ...auth }, trust);
  return {
    listUsers: async () => asUsers(await call('GET', '/v1/admin/users')).users,
    addUser: async (name, pw, maxSessions) =>
      asUser(await call('POST', '/v1/admin/users', { name, password: pw, ...(maxSessions === undefined ? {} : { max_sessions: maxSessions }) })),
    setUserMaxSessions: async (name, maxSessions) => asUser(await call('PATCH', `/v1/admin/users/${seg(name)}`, { max_sessions: maxSessions })),
    removeUser: async (name) => {
      await call('DELETE', `/v1/admin/users/${seg(name)}`);
    },
    listPrograms: async () => asPrograms(await call('GET', '/v1/admin/programs')).programs,
    addProgram: async (p) => asProgram(await call('POST', '/v1/admin/programs', p)),
    rekeyProgram: async (id, sourceKey) => asProgram(await call('PATCH', `/v1/admin/programs/${seg(id)}`, { source_key: sourceKey })),
    removeProgram: async (id) => {
      await call('DELETE', `/v1/admin/programs/${seg(id)}`);
    },
    grant: async (u, program, until, maxSessions) =>
      asSubscription(await call('PUT', '/v1/admin/subscriptions', { user: u, program, until, ...(maxSessions === undefined ? {} : { max_sessions: maxSessions }) })),
    revoke: async (u, program) => asDisconnects(await call('DELETE', `/v1/admin/subscriptions/${seg(u)}/${seg(program)}`)).disconnects,
    listSubscriptions: async (filter = {}) => {
      const q = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const qs = q.size > 0 ? `?${q.toString()}` : '';
      return asSubscriptions(await call('GET', `/v1/admin/subscriptions${qs}`)).subscriptions;
    },
    listSessions: async (opts = {}) => asSessions(await call('GET', `/v1/admin/sessions${opts.all ? '?all=1' : ''}`)).sessions,
    kick: async (target, reason) => asDisconnects(await call('POST', '/v1/admin/kick', { ...target, reason })).disconnects,
    listDisconnects: async (opts = {}) => {
      const q = new URLSearchParams();
      if (opts.pending) q.set('pending', '1');
      if (opts.session !== undefined) q.set('session', opts.session);
      if (opts.limit !== undefined) q.set('limit', String(opts.limit));
      const qs = q.size > 0 ? `?${q.toString()}` : '';
      return asDisconnects(await call('GET', `/v1/admin/disconnects${qs}`)).disconnects;
    },
    getDisconnect: async (id) => asDisconnect(await call('GET', `/v1/admin/disconnects/${seg(id)}`)),
    logoutAll: async (u) => asLogoutAll(await call('POST', `/v1/admin/users/${seg(u)}/logout-all`)),
  };
}
