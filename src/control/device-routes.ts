/**
 * The operator's side of device credentials (admin Basic auth): list a user's
 * devices, and sign a user out everywhere — every device credential revoked
 * and every open session ended through the chain (steps A–E), so a stolen
 * device's stream stops too, not only its next admission.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ClientError } from '../core/errors.js';
import type { ControlStore } from '../core/ports.js';
import { adminAuthHook } from './admin-auth.js';
import { ADMIN_SECURITY, documentSecurity } from './openapi.js';
import type { Admission } from './admission.js';
import { iso } from './dates.js';
import type { DisconnectOrchestrator } from './disconnect-orchestrator.js';
import { DisconnectView, NameParams } from './schemas.js';
import { disconnectView } from './views.js';

export const REASON_LOGGED_OUT = 'signed out of all devices';

const DeviceView = Type.Object({ device: Type.String(), label: Type.String(), created_at: Type.String(), expires_at: Type.String() });

export function deviceAdminRoutes(deps: { store: ControlStore; admission: Admission; orchestrator: DisconnectOrchestrator }) {
  const { store, admission, orchestrator } = deps;
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', adminAuthHook(admission));
    documentSecurity(app, ADMIN_SECURITY);

    app.get<{ Params: Static<typeof NameParams> }>(
      '/v1/admin/users/:name/devices',
      { schema: { tags: ['users'], summary: "A user's device credentials", params: NameParams, response: { 200: Type.Object({ devices: Type.Array(DeviceView) }) } } },
      async (request) => {
        if (!(await store.getUser(request.params.name))) throw new ClientError('unknown_user', `no such user: ${request.params.name}`);
        const devices = await store.listDevices(request.params.name);
        return {
          devices: devices.map((d) => ({ device: d.id, label: d.label, created_at: iso(d.createdAt), expires_at: iso(d.expiresAt) })),
        };
      },
    );

    app.post<{ Params: Static<typeof NameParams> }>(
      '/v1/admin/users/:name/logout-all',
      {
        schema: {
          tags: ['users'],
          summary: 'Sign a user out everywhere: revoke every device, end every session',
          params: NameParams,
          response: { 200: Type.Object({ user: Type.String(), devices_revoked: Type.Integer(), disconnects: Type.Array(DisconnectView) }) },
        },
      },
      async (request) => {
        const { name } = request.params;
        if (!(await store.getUser(name))) throw new ClientError('unknown_user', `no such user: ${name}`);
        const revoked = await admission.logins.devices.revokeAll(name);
        const disconnects = await orchestrator.kickUser(name, REASON_LOGGED_OUT);
        request.log.info({ user: name, devices: revoked, sessions: disconnects.length }, 'user signed out of all devices');
        return { user: name, devices_revoked: revoked, disconnects: disconnects.map(disconnectView) };
      },
    );
  };
}
