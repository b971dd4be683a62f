/**
 * Authentication of admin routes: HTTP Basic (the user must exist, know its
 * password and be an admin) or an admin's device credential from `gatecast
 * login` (`Authorization: Bearer <device>.<secret>`, never locked by a guess
 * flood against the admin's name). Whatever fails, the caller is told only
 * "wrong admin user name or password" (throttled like every login; see
 * login-authenticator.ts). Runs on request, before the body is parsed, so an
 * anonymous caller learns nothing about what a valid body looks like.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientError } from '../core/errors.js';
import type { User } from '../core/types.js';
import type { Admission } from './admission.js';

const admins = new WeakMap<FastifyRequest, User>();

function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,2048})\s*$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `Authorization: Bearer <device>.<secret>`: an admin's device credential from `gatecast login`. */
function deviceCredentials(header: string | undefined): { device: string; secret: string } | undefined {
  const m = /^Bearer ([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(header ?? '');
  return m?.[1] && m[2] ? { device: m[1], secret: m[2] } : undefined;
}

export function adminAuthHook(admission: Admission): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request) => {
    // Already signed in by the console's session cookie (console-routes.ts consoleAuthHook, which ran first).
    if (admins.has(request)) return;
    const device = deviceCredentials(request.headers.authorization);
    if (device) {
      admins.set(request, await admission.logins.adminDevice(device.device, device.secret, request.ip));
      return;
    }
    const creds = basicCredentials(request.headers.authorization);
    if (!creds) throw new ClientError('unauthorized', 'admin credentials required (HTTP Basic)');
    // Throttled per user and address; one refusal for an unknown user, a wrong password and a non-admin.
    admins.set(request, await admission.authenticateAdmin(creds.user, creds.password, request.ip));
  };
}

/** The console's cookie stood for this admin (checked there, cross-site refused): adminAuthHook lets the request through. */
export function setConsoleAdmin(request: FastifyRequest, user: User): void {
  admins.set(request, user);
}

/** The admin who made this request; only valid behind adminAuthHook. */
export function adminOf(request: FastifyRequest): User {
  const user = admins.get(request);
  if (!user) throw new Error('adminOf called on a route without admin authentication');
  return user;
}
