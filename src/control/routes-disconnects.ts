/**
 * The operator's disconnect routes (behind the admin routes' authentication):
 * kick a user or one session, and follow each disconnect's chain. A kick
 * answers as soon as the disconnect is recorded; completion shows up in
 * GET /v1/admin/disconnects.
 */
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { ClientError } from '../core/errors.js';
import type { ControlStore } from '../core/ports.js';
import type { DisconnectOrchestrator } from './disconnect-orchestrator.js';
import { DisconnectList, DisconnectsQuery, DisconnectView, IdParams, KickBody } from './schemas.js';
import { disconnectView } from './views.js';

export const DEFAULT_KICK_REASON = 'disconnected by the operator';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

export function registerDisconnectRoutes(app: FastifyInstance, deps: { store: ControlStore; orchestrator: DisconnectOrchestrator }): void {
  const { store, orchestrator } = deps;

  app.post<{ Body: KickBody }>('/v1/admin/kick', { schema: { tags: ['disconnects'], summary: "Kick a session or all of a user's sessions (steps A–E)", body: KickBody, response: { 200: DisconnectList } } }, async (request) => {
    const { user, session } = request.body;
    const reason = request.body.reason ?? DEFAULT_KICK_REASON;
    if ((user === undefined) === (session === undefined)) {
      throw new ClientError('invalid_request', 'give exactly one of "user" or "session"');
    }
    let list;
    if (session !== undefined) {
      list = [await orchestrator.kick(session, reason)];
    } else {
      const name = user ?? '';
      if (!(await store.getUser(name))) throw new ClientError('unknown_user', `no such user: ${name}`);
      list = await orchestrator.kickUser(name, reason);
    }
    request.log.info({ user, session, reason, disconnects: list.map((d) => d.id) }, 'kick');
    return { disconnects: list.map(disconnectView) };
  });

  app.get<{ Querystring: Static<typeof DisconnectsQuery> }>(
    '/v1/admin/disconnects',
    { schema: { tags: ['disconnects'], summary: 'List disconnects, newest first', querystring: DisconnectsQuery, response: { 200: DisconnectList } } },
    async (request) => {
      const { pending, session } = request.query;
      const limit = request.query.limit === undefined ? DEFAULT_LIMIT : Number(request.query.limit);
      if (limit < 1 || limit > MAX_LIMIT) throw new ClientError('invalid_request', `limit: expected 1 to ${MAX_LIMIT}`);
      const list = await store.listDisconnects({ pending: pending === '1' || pending === 'true', sid: session, limit });
      return { disconnects: list.map(disconnectView) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/v1/admin/disconnects/:id',
    { schema: { tags: ['disconnects'], summary: 'One disconnect and its timeline', params: IdParams, response: { 200: DisconnectView } } },
    async (request) => {
      const d = await store.getDisconnect(request.params.id);
      if (!d) throw new ClientError('not_found', `no such disconnect: ${request.params.id}`);
      return disconnectView(d);
    },
  );
}
