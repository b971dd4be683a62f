/**
 * The operator console: its pages (src/web/console, served at /console/ with
 * a strict CSP), sign-in and sign-out (a session cookie standing for an admin
 * of the customer database), and the cookie's way into the admin API.
 *
 * The cookie is HttpOnly, SameSite=Strict, Path=/ (and Secure, named
 * __Host-…, over TLS). A cookie-authenticated request is refused (403
 * cross_site) when the browser says it is cross-site (Sec-Fetch-Site), and,
 * unless it is a GET or HEAD, when its Origin is not this server's own: the
 * cookie alone never writes. Basic auth and device credentials are untouched
 * (Authorization wins over a cookie), so scripts work as before.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ClientError, isClientError } from '../core/errors.js';
import type { ControlStore } from '../core/ports.js';
import { adminAuthHook, setConsoleAdmin } from './admin-auth.js';
import type { Admission } from './admission.js';
import { CONSOLE_SESSION_MS, type ConsoleSessions } from './console-sessions.js';
import { ADMIN_SECURITY, CONSOLE_SECURITY, NO_CONTENT } from './openapi.js';
import { hashPassword } from './passwords.js';
import { NameParams } from './schemas.js';

export const CONSOLE_PATH = '/console/';
const COOKIE = 'gatecast_console';
/** Over TLS: the __Host- prefix makes the browser refuse it unless Secure, Path=/ and no Domain. */
const TLS_COOKIE = '__Host-gatecast_console';
const SIGNED_OUT = 'not signed in to the console (or the session ended): sign in again';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const SignInBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 256 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
const ConsoleSessionView = Type.Object({
  user: Type.String(),
  expires_at: Type.String({ description: 'ISO 8601; the session may end sooner (sign-out, 30 min idle, password change)' }),
});
const PasswordBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
const FileParams = Type.Object({ file: Type.String({ maxLength: 64 }) });
const FILE_RESPONSE = { 200: { type: 'string', description: 'the file' } } as const;

export interface ConsoleRoutesDeps {
  admission: Admission;
  sessions: ConsoleSessions;
  store: ControlStore;
  /** Where the console's files are (default: src/web/console next to this room). */
  dir?: string;
}

function isTls(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

function cookieName(request: FastifyRequest): string {
  return isTls(request) ? TLS_COOKIE : COOKIE;
}

/** The console's cookie value, if the request carries exactly one. */
export function consoleCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  const name = cookieName(request);
  const values = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
  return values.length === 1 ? values[0] : undefined;
}

/** Refuses a request a browser made for another site: a cross-site marker, or a write whose Origin is not ours. */
export function checkSameOrigin(request: FastifyRequest): void {
  if (request.headers['sec-fetch-site'] === 'cross-site') {
    throw new ClientError('forbidden', 'cross-site request refused');
  }
  if (request.method === 'GET' || request.method === 'HEAD') return;
  const origin = request.headers.origin;
  const own = `${request.protocol}://${request.headers.host ?? ''}`;
  if (origin !== own) {
    throw new ClientError('forbidden', `cross-site request refused: Origin ${origin === undefined ? 'missing' : 'is not this server'}`);
  }
}

function setCookie(reply: FastifyReply, request: FastifyRequest, value: string, maxAgeS: number): void {
  const parts = [`${cookieName(request)}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeS}`];
  if (isTls(request)) parts.push('Secure');
  void reply.header('set-cookie', parts.join('; '));
}

/**
 * Root onRequest hook: a console cookie on an admin route (and no
 * Authorization header) signs the request in as its admin, after the
 * cross-site checks; a cookie that stands for nobody is a 401 login_required.
 */
export function consoleAuthHook(sessions: ConsoleSessions): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    if (!request.url.startsWith('/v1/admin/') || request.headers.authorization !== undefined) return;
    const id = consoleCookie(request);
    if (id === undefined) {
      // A page's fetch without a session (the console after sign-out): a plain 401. The Basic challenge the
      // admin routes answer otherwise would make the browser open its own password dialog and hold the fetch.
      // Browsers send Sec-Fetch-Site; Node's fetch sends only Sec-Fetch-Mode, so scripts still get the challenge.
      const mode = request.headers['sec-fetch-mode'];
      const fromPage = request.headers['sec-fetch-site'] === 'same-origin' && (mode === 'cors' || mode === 'same-origin');
      if (fromPage) throw new ClientError('login_required', SIGNED_OUT);
      return;
    }
    checkSameOrigin(request);
    const found = await sessions.resolve(id);
    if (!found) throw new ClientError('login_required', SIGNED_OUT);
    setConsoleAdmin(request, found.user);
  };
}

function loadFiles(dir: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type && /^[a-z0-9-]+\.[a-z]+$/.test(name)) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}

export function consoleRoutes(deps: ConsoleRoutesDeps) {
  const { admission, sessions, store } = deps;
  const files = loadFiles(deps.dir ?? fileURLToPath(new URL('../web/console/', import.meta.url)));
  return async (app: FastifyInstance): Promise<void> => {
    const page = (reply: FastifyReply, name: string): FastifyReply => {
      const file = files.get(name);
      if (!file) throw new ClientError('not_found', `no console file ${name}`);
      return reply
        .header('content-type', file.type)
        .header('content-security-policy', CSP)
        .header('x-frame-options', 'DENY')
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'same-origin')
        .header('cache-control', 'no-cache')
        .send(file.body);
    };
    const doc = { tags: ['console'], response: FILE_RESPONSE };
    app.get('/console', { schema: { ...doc, summary: 'Redirects to /console/' } }, async (_request, reply) => reply.redirect(CONSOLE_PATH, 308));
    app.get('/console/', { schema: { ...doc, summary: "The operator's console (sign in as an admin)" } }, async (_request, reply) => page(reply, 'index.html'));
    app.get<{ Params: Static<typeof FileParams> }>(
      '/console/:file',
      { schema: { ...doc, summary: "A file of the console's page", params: FileParams } },
      async (request, reply) => page(reply, request.params.file),
    );

    app.post<{ Body: Static<typeof SignInBody> }>(
      '/v1/console/session',
      { schema: { tags: ['console'], summary: 'Sign in to the console (an admin user): sets the session cookie', body: SignInBody, response: { 201: ConsoleSessionView } } },
      async (request, reply) => {
        checkSameOrigin(request);
        let user;
        try {
          // The admin check of the API, with its throttle: the same refusal and the same limits as Basic auth.
          user = await admission.authenticateAdmin(request.body.name, request.body.password, request.ip);
        } catch (err) {
          // Same message, but a 401 without a Basic challenge (the browser would open its own dialog).
          if (isClientError(err) && err.code === 'unauthorized') throw new ClientError('invalid_credentials', err.message);
          throw err;
        }
        // A session id the browser already had is never kept or upgraded: fixation gets nothing.
        sessions.end(consoleCookie(request));
        const made = sessions.create(user);
        setCookie(reply, request, made.id, Math.floor(CONSOLE_SESSION_MS / 1000));
        void reply.header('cache-control', 'no-store');
        return reply.status(201).send({ user: made.session.user, expires_at: new Date(made.session.expiresAt).toISOString() });
      },
    );

    app.get('/v1/console/session', { schema: { tags: ['console'], summary: 'Who is signed in to the console', security: CONSOLE_SECURITY, response: { 200: ConsoleSessionView } } }, async (request, reply) => {
      checkSameOrigin(request);
      const found = await sessions.resolve(consoleCookie(request));
      if (!found) throw new ClientError('login_required', SIGNED_OUT);
      void reply.header('cache-control', 'no-store');
      return { user: found.session.user, expires_at: new Date(found.session.expiresAt).toISOString() };
    });

    app.delete('/v1/console/session', { schema: { tags: ['console'], summary: 'Sign out of the console: ends the session and clears the cookie', security: CONSOLE_SECURITY, response: { 204: NO_CONTENT } } }, async (request, reply) => {
      const id = consoleCookie(request);
      if (id === undefined) throw new ClientError('login_required', SIGNED_OUT);
      checkSameOrigin(request);
      // An unknown or ended id is signed out already: the cookie is cleared all the same.
      sessions.end(id);
      setCookie(reply, request, '', 0);
      return reply.status(204).send();
    });

    // An admin route the console needs and the API lacked: set a viewer's password.
    await app.register(async (admin) => {
      admin.addHook('onRequest', adminAuthHook(admission));
      admin.put<{ Params: Static<typeof NameParams>; Body: Static<typeof PasswordBody> }>(
        '/v1/admin/users/:name/password',
        { schema: { tags: ['users'], summary: "Set a (non-admin) user's password", security: ADMIN_SECURITY, params: NameParams, body: PasswordBody, response: { 204: NO_CONTENT } } },
        async (request, reply) => {
          const user = await store.getUser(request.params.name);
          if (!user) throw new ClientError('unknown_user', `no such user: ${request.params.name}`);
          if (user.isAdmin) throw new ClientError('forbidden', `${user.name} is an admin user: its password is set where the control server starts`);
          await store.setUserPassword(user.name, await hashPassword(request.body.password));
          return reply.status(204).send();
        },
      );
    });
  };
}
