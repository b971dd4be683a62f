/** Routes anyone may call: service info, health, admission (steps a–b) and token renewal. */
import type { FastifyInstance } from 'fastify';
import { DEFAULTS } from '../core/config.js';
import { AdmissionResultSchema, ProgramRequestBody, RenewBody, RenewResultSchema } from '../protocol/control-api.js';
import type { Admission } from './admission.js';
import { iso } from './dates.js';
import { Health, IdParams, ServiceInfo, SidParams } from './schemas.js';
import type { TrackerRegistry } from './tracker-registry.js';
import { VERSION } from './version.js';
import type { Static } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';

export interface PublicRoutesDeps {
  admission: Admission;
  trackers: TrackerRegistry;
  clock: Clock;
}

export function publicRoutes(deps: PublicRoutesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/', { schema: { response: { 200: ServiceInfo } } }, async () => ({
      service: 'gatecast control server',
      version: VERSION,
      links: {
        health: '/v1/health',
        request_program: 'POST /v1/programs/{id}/request',
        renew: 'POST /v1/sessions/{sid}/renew',
        admin: '/v1/admin/',
        tracker_link: DEFAULTS.controlLinkPath,
        docs: 'docs/API.md',
      },
    }));

    app.get('/v1/health', { schema: { response: { 200: Health } } }, async () => ({
      status: 'ok' as const,
      trackers: deps.trackers.list().length,
      time: iso(deps.clock.now()),
    }));

    app.post<{ Params: Static<typeof IdParams>; Body: ProgramRequestBody }>(
      '/v1/programs/:id/request',
      { schema: { params: IdParams, body: ProgramRequestBody, response: { 200: AdmissionResultSchema } } },
      async (request) => {
        const { user, password, client_key } = request.body;
        const result = await deps.admission.requestProgram(request.params.id, { user, password, clientKey: client_key });
        request.log.info({ user, program: request.params.id, session: result.session }, 'admitted');
        return result;
      },
    );

    app.post<{ Params: Static<typeof SidParams>; Body: RenewBody }>(
      '/v1/sessions/:sid/renew',
      { schema: { params: SidParams, body: RenewBody, response: { 200: RenewResultSchema } } },
      async (request) => deps.admission.renew(request.params.sid, request.body.ts, request.body.sig),
    );
  };
}
