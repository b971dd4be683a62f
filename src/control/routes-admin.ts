/**
 * The operator's routes (HTTP Basic, admin users only): the customer database
 * (users, subscriptions), programs, the list of clients in the system
 * (sessions), connected trackers, and broadcaster admission.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { ClientError } from '../core/errors.js';
import type { ControlStore } from '../core/ports.js';
import { SourceAdmissionSchema, SourceRequestBody } from '../protocol/control-api.js';
import { adminAuthHook, adminOf } from './admin-auth.js';
import { ADMIN_SECURITY, documentSecurity, NO_CONTENT } from './openapi.js';
import type { Admission } from './admission.js';
import type { DisconnectOrchestrator } from './disconnect-orchestrator.js';
import { parseIsoDate } from './dates.js';
import { hashPassword } from './passwords.js';
import {
  CreateProgramBody,
  CreateUserBody,
  IdParams,
  NameParams,
  PatchProgramBody,
  PatchUserBody,
  ProgramStatsView,
  ProgramView,
  PutSubscriptionBody,
  SessionsQuery,
  SessionView,
  SubscriptionParams,
  SubscriptionsQuery,
  SubscriptionView,
  DisconnectView,
  TrackerView,
  UserView,
} from './schemas.js';
import { registerDisconnectRoutes } from './routes-disconnects.js';
import { ed25519PublicKey } from '../core/piece.js';
import { REASON_REKEYED, REASON_REVOKED, REASON_USER_REMOVED } from './subscription-watch.js';
import type { TrackerRegistry } from './tracker-registry.js';
import type { QoeBoard } from './qoe-board.js';
import { disconnectView, programView, sessionView, subscriptionView, trackerView, userView } from './views.js';

export interface AdminRoutesDeps {
  store: ControlStore;
  clock: Clock;
  admission: Admission;
  trackers: TrackerRegistry;
  orchestrator: DisconnectOrchestrator;
  /** Clients' latest QoE reports, per session and per program. */
  qoe: QoeBoard;
}

export function adminRoutes(deps: AdminRoutesDeps) {
  const { store, clock, admission, orchestrator, qoe } = deps;
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', adminAuthHook(admission));
    documentSecurity(app, ADMIN_SECURITY);

    // --- users
    app.get('/v1/admin/users', { schema: { tags: ['users'], summary: 'List users', response: { 200: Type.Object({ users: Type.Array(UserView) }) } } }, async () => ({
      users: (await store.listUsers()).map(userView),
    }));

    app.post<{ Body: CreateUserBody }>(
      '/v1/admin/users',
      { schema: { tags: ['users'], summary: 'Add a user', body: CreateUserBody, response: { 201: UserView } } },
      async (request, reply) => {
        const { name, password } = request.body;
        if (await store.getUser(name)) throw new ClientError('conflict', `user ${name} already exists`);
        const user = { name, passwordHash: await hashPassword(password), isAdmin: false, createdAt: clock.now(), maxSessions: request.body.max_sessions ?? null };
        await store.createUser(user);
        return reply.status(201).send(userView(user));
      },
    );

    app.patch<{ Params: Static<typeof NameParams>; Body: PatchUserBody }>(
      '/v1/admin/users/:name',
      { schema: { tags: ['users'], summary: "Set a user's concurrent-session limit", params: NameParams, body: PatchUserBody, response: { 200: UserView } } },
      async (request) => {
        // Takes effect at the user's next admission; running sessions are not ended by lowering it.
        await store.setUserMaxSessions(request.params.name, request.body.max_sessions);
        const user = await store.getUser(request.params.name);
        if (!user) throw new ClientError('unknown_user', `no such user: ${request.params.name}`);
        return userView(user);
      },
    );

    const removeUser = { tags: ['users'], summary: 'Remove a user, their subscriptions and sessions', params: NameParams, response: { 204: NO_CONTENT } };
    app.delete<{ Params: Static<typeof NameParams> }>('/v1/admin/users/:name', { schema: removeUser }, async (request, reply) => {
      const user = await store.getUser(request.params.name);
      if (!user) throw new ClientError('unknown_user', `no such user: ${request.params.name}`);
      if (user.isAdmin) throw new ClientError('forbidden', `${user.name} is an admin user and cannot be removed`);
      await store.deleteUser(user.name);
      await orchestrator.kickUser(user.name, REASON_USER_REMOVED);
      return reply.status(204).send();
    });

    // --- programs
    app.get('/v1/admin/programs', { schema: { tags: ['programs'], summary: 'List programs', response: { 200: Type.Object({ programs: Type.Array(ProgramView) }) } } }, async () => ({
      programs: (await store.listPrograms()).map(programView),
    }));

    app.post<{ Body: CreateProgramBody }>(
      '/v1/admin/programs',
      { schema: { tags: ['programs'], summary: 'Add a program with its source public key', body: CreateProgramBody, response: { 201: ProgramView } } },
      async (request, reply) => {
        const b = request.body;
        if (await store.getProgram(b.id)) throw new ClientError('conflict', `program ${b.id} already exists`);
        // The operator's public key only: the control server never makes nor holds a program's private key.
        if (b.source_key === undefined) {
          throw new ClientError('invalid_request', 'source_key is required: make the key pair where the broadcaster runs; gatecast admin programs add does');
        }
        const sourceKey = checkSourceKey(b.source_key);
        const program = {
          id: b.id,
          title: b.title,
          bitrateBps: b.bitrate_bps ?? DEFAULTS.programBitrateBps,
          lengthS: b.length_s ?? null,
          sourcePublicKey: sourceKey,
          sourcePrivateKey: '',
          packetsPerPiece: b.packets_per_piece ?? DEFAULTS.packetsPerPiece,
          createdAt: clock.now(),
        };
        await store.createProgram(program);
        return reply.status(201).send(programView(program));
      },
    );

    // A new source key (`programs rekey`): the info hash changes, any private key the server held (rows from before) is erased,
    // and the program's open sessions, admitted to the old info hash, are ended through the chain.
    app.patch<{ Params: Static<typeof IdParams>; Body: PatchProgramBody }>(
      '/v1/admin/programs/:id',
      { schema: { tags: ['programs'], summary: 'Rekey a program (ends its sessions)', params: IdParams, body: PatchProgramBody, response: { 200: ProgramView } } },
      async (request) => {
        const sourceKey = checkSourceKey(request.body.source_key);
        await store.setProgramSourceKey(request.params.id, sourceKey);
        const program = await store.getProgram(request.params.id);
        if (!program) throw new ClientError('unknown_program', `no such program: ${request.params.id}`);
        await orchestrator.kickProgram(program.id, REASON_REKEYED);
        request.log.info({ program: program.id }, 'program rekeyed');
        return programView(program);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/v1/admin/programs/:id/stats',
      { schema: { tags: ['programs'], summary: "A program's QoE aggregates", params: IdParams, response: { 200: ProgramStatsView } } },
      async (request) => {
        if (!(await store.getProgram(request.params.id))) throw new ClientError('unknown_program', `no such program: ${request.params.id}`);
        return qoe.programStats(request.params.id);
      },
    );

    const removeProgram = { tags: ['programs'], summary: 'Remove a program and its subscriptions', params: IdParams, response: { 204: NO_CONTENT } };
    app.delete<{ Params: Static<typeof IdParams> }>('/v1/admin/programs/:id', { schema: removeProgram }, async (request, reply) => {
      if (!(await store.deleteProgram(request.params.id))) {
        throw new ClientError('unknown_program', `no such program: ${request.params.id}`);
      }
      return reply.status(204).send();
    });

    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof SourceRequestBody> }>(
      '/v1/admin/programs/:id/source',
      { schema: { tags: ['programs'], summary: 'Admit a broadcaster to a program', params: IdParams, body: SourceRequestBody, response: { 200: SourceAdmissionSchema } } },
      async (request) => {
        const result = await admission.admitSource(request.params.id, adminOf(request).name, request.body.client_key);
        request.log.info({ program: request.params.id, session: result.session }, 'source admitted');
        return result;
      },
    );

    // --- subscriptions
    app.get<{ Querystring: Static<typeof SubscriptionsQuery> }>(
      '/v1/admin/subscriptions',
      {
        schema: {
          tags: ['subscriptions'],
          summary: 'List subscriptions',
          querystring: SubscriptionsQuery,
          response: { 200: Type.Object({ subscriptions: Type.Array(SubscriptionView) }) },
        },
      },
      async (request) => {
        const now = clock.now();
        const subs = await store.listSubscriptions({ user: request.query.user, program: request.query.program });
        return { subscriptions: subs.map((s) => subscriptionView(s, now)) };
      },
    );

    app.put<{ Body: PutSubscriptionBody }>(
      '/v1/admin/subscriptions',
      { schema: { tags: ['subscriptions'], summary: 'Grant or change a subscription', body: PutSubscriptionBody, response: { 200: SubscriptionView } } },
      async (request) => {
        const { user, program, until } = request.body;
        let untilMs: number | null = null;
        if (typeof until === 'string') {
          const parsed = parseIsoDate(until);
          if (parsed === undefined) throw new ClientError('invalid_request', `until: not an ISO 8601 date: ${JSON.stringify(until)}`);
          untilMs = parsed;
        }
        if (!(await store.getUser(user))) throw new ClientError('unknown_user', `no such user: ${user}`);
        if (!(await store.getProgram(program))) throw new ClientError('unknown_program', `no such program: ${program}`);
        const now = clock.now();
        const sub = { user, program, until: untilMs, createdAt: now, maxSessions: request.body.max_sessions ?? null };
        await store.putSubscription(sub);
        return subscriptionView(sub, now);
      },
    );

    app.delete<{ Params: Static<typeof SubscriptionParams> }>(
      '/v1/admin/subscriptions/:user/:program',
      {
        schema: {
          tags: ['subscriptions'],
          summary: 'Revoke a subscription (ends its sessions)',
          params: SubscriptionParams,
          response: { 200: Type.Object({ user: Type.String(), program: Type.String(), disconnects: Type.Array(DisconnectView) }) },
        },
      },
      async (request) => {
        const { user, program } = request.params;
        if (!(await store.deleteSubscription(user, program))) {
          throw new ClientError('not_found', `${user} has no subscription to ${program}`);
        }
        // Renewal is refused from here on; the running sessions are ended through the chain.
        const disconnects = await orchestrator.kickProgramSessionsOfUser(user, program, REASON_REVOKED);
        return { user, program, disconnects: disconnects.map(disconnectView) };
      },
    );

    // --- the list of clients in the system, and the trackers
    app.get<{ Querystring: Static<typeof SessionsQuery> }>(
      '/v1/admin/sessions',
      {
        schema: {
          tags: ['sessions'],
          summary: 'The list of clients in the system',
          querystring: SessionsQuery,
          response: { 200: Type.Object({ sessions: Type.Array(SessionView) }) },
        },
      },
      async (request) => {
        const { all, user, program } = request.query;
        const sessions = await store.listSessions({ user, program, includeEnded: all === '1' || all === 'true' });
        return { sessions: sessions.map((s) => sessionView(s, qoe.view(s))) };
      },
    );

    registerDisconnectRoutes(app, { store, orchestrator });

    app.get('/v1/admin/trackers', { schema: { tags: ['trackers'], summary: 'Connected trackers', response: { 200: Type.Object({ trackers: Type.Array(TrackerView) }) } } }, async () => ({
      // Every tracker of the cluster: those linked here and, with several control servers, those linked to the others.
      trackers: deps.trackers.listAll().map(trackerView),
    }));
  };
}

/** A raw Ed25519 public key (32 bytes, base64url), or invalid_request. */
function checkSourceKey(key: string): string {
  try {
    ed25519PublicKey(key);
  } catch {
    throw new ClientError('invalid_request', 'source_key: not a raw Ed25519 public key (32 bytes, base64url)');
  }
  return key;
}
