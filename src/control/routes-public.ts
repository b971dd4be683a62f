/** Routes anyone may call: service info, health, admission (steps a–b), device login and logout, and token renewal. */
import type { FastifyInstance } from 'fastify';
import { DEFAULTS } from '../core/config.js';
import { ClientError } from '../core/errors.js';
import {
  AdmissionResultSchema,
  ControlHealthSchema,
  DeviceLoginBody,
  DeviceLoginResultSchema,
  ProgramRequestBody,
  RenewBody,
  RenewResultSchema,
} from '../protocol/control-api.js';
import { Type } from '@sinclair/typebox';
import { DEVICE_REFUSED } from './login-authenticator.js';
import { DEVICE_SECURITY, NO_CONTENT } from './openapi.js';
import type { Admission } from './admission.js';
import type { ControlHealthCheck } from './health.js';
import { IdParams, ServiceInfo, SidParams } from './schemas.js';
import { VERSION } from './version.js';
import type { Static } from '@sinclair/typebox';

const DeviceParams = Type.Object({ device: Type.String({ maxLength: 64 }) });

export interface PublicRoutesDeps {
  admission: Admission;
  health: ControlHealthCheck;
}

export function publicRoutes(deps: PublicRoutesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/', { schema: { tags: ['service'], summary: 'Service name, version and links', response: { 200: ServiceInfo } } }, async () => ({
      service: 'gatecast control server',
      version: VERSION,
      links: {
        health: '/v1/health',
        request_program: 'POST /v1/programs/{id}/request',
        device_login: 'POST /v1/devices',
        renew: 'POST /v1/sessions/{sid}/renew',
        admin: '/v1/admin/',
        tracker_link: DEFAULTS.controlLinkPath,
        docs: 'docs/API.md',
        openapi: '/openapi.json',
        api_browser: '/docs',
        console: '/console/',
        metrics: '/metrics',
      },
    }));

    // 200 for degraded too: the process answers, and none of the reasons is cured by restarting it (docs/API.md).
    app.get('/v1/health', { schema: { tags: ['service'], summary: 'Health: ok or degraded, with reasons', response: { 200: ControlHealthSchema } } }, async (_request, reply) => {
      void reply.header('cache-control', 'no-store');
      return deps.health.report();
    });

    app.post<{ Params: Static<typeof IdParams>; Body: ProgramRequestBody }>(
      '/v1/programs/:id/request',
      {
        schema: {
          tags: ['admission'],
          summary: "Request a program: the user's credentials for its metadata and an access token (steps a–b)",
          params: IdParams,
          body: ProgramRequestBody,
          response: { 200: AdmissionResultSchema },
        },
      },
      async (request) => {
        const { user, password, device, device_secret, client_key } = request.body;
        const byDevice = device !== undefined && device_secret !== undefined;
        if (byDevice === (password !== undefined) || (device === undefined) !== (device_secret === undefined)) {
          throw new ClientError('invalid_request', 'send either password, or device and device_secret');
        }
        const creds = byDevice ? { user, device, deviceSecret: device_secret } : { user, password: password ?? '' };
        const result = await deps.admission.requestProgram(request.params.id, { ...creds, clientKey: client_key }, request.ip);
        request.log.info({ user, program: request.params.id, session: result.session, device: byDevice }, 'admitted');
        return result;
      },
    );

    // Device credentials: `gatecast login` trades the password for one, `gatecast logout` revokes it.
    app.post<{ Body: DeviceLoginBody }>(
      '/v1/devices',
      { schema: { tags: ['devices'], summary: 'Device login: trade a password for a device credential', body: DeviceLoginBody, response: { 201: DeviceLoginResultSchema } } },
      async (request, reply) => {
        const { user, password, label } = request.body;
        const issued = await deps.admission.logins.login(user, password, request.ip, label ?? '');
        request.log.info({ user, device: issued.device }, 'device logged in');
        return reply.status(201).send({ user: issued.user, device: issued.device, secret: issued.secret, expires_at: issued.expiresAt });
      },
    );

    const deviceLogout = {
      tags: ['devices'],
      summary: 'Device logout: revoke this device credential',
      security: DEVICE_SECURITY,
      params: DeviceParams,
      response: { 204: NO_CONTENT },
    };
    app.delete<{ Params: Static<typeof DeviceParams> }>('/v1/devices/:device', { schema: deviceLogout }, async (request, reply) => {
      const m = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(request.headers.authorization ?? '');
      if (!m?.[1]) throw new ClientError('login_required', DEVICE_REFUSED);
      await deps.admission.logins.logout(request.params.device, m[1]);
      request.log.info({ device: request.params.device }, 'device logged out');
      return reply.status(204).send();
    });

    app.post<{ Params: Static<typeof SidParams>; Body: RenewBody }>(
      '/v1/sessions/:sid/renew',
      {
        schema: {
          tags: ['admission'],
          summary: "Renew a session's access token (signed with its client key)",
          params: SidParams,
          body: RenewBody,
          response: { 200: RenewResultSchema },
        },
      },
      async (request) => deps.admission.renew(request.params.sid, request.body.ts, request.body.sig),
    );
  };
}
