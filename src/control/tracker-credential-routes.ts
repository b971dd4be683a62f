/**
 * The operator's side of trackers' own control-link credentials (admin auth):
 * make one (its `ID.SECRET` answered once, only its hash kept), list them (no
 * secrets), revoke one — which also closes that tracker's live control link:
 * here at once, on the other control servers of a cluster at their next
 * credential re-check (TrackerLink, CREDENTIAL_CHECK_MS), and its redials are
 * refused everywhere.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import type { ControlStore, TrackerCredential } from '../core/ports.js';
import { adminAuthHook } from './admin-auth.js';
import type { Admission } from './admission.js';
import { iso, isoOrNull } from './dates.js';
import { ADMIN_SECURITY, documentSecurity } from './openapi.js';
import { IsoTime } from './schemas.js';
import { newTrackerCredential, TRACKER_ID_PATTERN } from './tracker-credentials.js';
import type { TrackerLink } from './tracker-link.js';

export const TrackerCredentialView = Type.Object({
  id: Type.String(),
  created_at: IsoTime,
  revoked_at: Type.Union([IsoTime, Type.Null()]),
});
export type TrackerCredentialView = Static<typeof TrackerCredentialView>;

const CreateBody = Type.Object({ id: Type.String({ pattern: TRACKER_ID_PATTERN, description: 'the tracker id (the tracker says hello with it)' }) }, { additionalProperties: false });
const Created = Type.Object({
  ...TrackerCredentialView.properties,
  credential: Type.String({ description: 'ID.SECRET, shown this once: the tracker presents it as GATECAST_TRACKER_SECRET' }),
});
const Params = Type.Object({ id: Type.String({ maxLength: 256 }) });

const view = (c: TrackerCredential): TrackerCredentialView => ({ id: c.id, created_at: iso(c.createdAt), revoked_at: isoOrNull(c.revokedAt) });

export function trackerCredentialRoutes(deps: { store: ControlStore; clock: Clock; admission: Admission; link: TrackerLink }) {
  const { store, clock, admission, link } = deps;
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', adminAuthHook(admission));
    documentSecurity(app, ADMIN_SECURITY);

    app.post<{ Body: Static<typeof CreateBody> }>(
      '/v1/admin/trackers/credentials',
      { schema: { tags: ['trackers'], summary: "Give a tracker its own control-link credential (answered once)", body: CreateBody, response: { 201: Created } } },
      async (request, reply) => {
        const { record, credential } = newTrackerCredential(request.body.id, clock.now());
        await store.createTrackerCredential(record);
        request.log.info({ tracker: record.id }, 'tracker credential created');
        return reply.code(201).send({ ...view(record), credential });
      },
    );

    app.get(
      '/v1/admin/trackers/credentials',
      { schema: { tags: ['trackers'], summary: "Trackers' credentials (never their secrets), revoked ones too", response: { 200: Type.Object({ credentials: Type.Array(TrackerCredentialView) }) } } },
      async () => ({ credentials: (await store.listTrackerCredentials()).map(view) }),
    );

    app.delete<{ Params: Static<typeof Params> }>(
      '/v1/admin/trackers/credentials/:id',
      {
        schema: {
          tags: ['trackers'],
          summary: "Revoke a tracker's credential and close its control link",
          params: Params,
          response: { 200: Type.Object({ ...TrackerCredentialView.properties, links_closed: Type.Integer() }) },
        },
      },
      async (request) => {
        const { id } = request.params;
        const revoked = await store.revokeTrackerCredential(id, clock.now());
        const c = await store.getTrackerCredential(id);
        if (!c) throw new ClientError('not_found', `no credential for tracker ${id}`);
        if (!revoked) request.log.info({ tracker: id }, 'tracker credential already revoked');
        const closed = link.closeCredentialLinks(id);
        request.log.info({ tracker: id, links_closed: closed }, 'tracker credential revoked');
        return { ...view(c), links_closed: closed };
      },
    );
  };
}
