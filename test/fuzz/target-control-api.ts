/**
 * The control server's HTTP API as an outsider reaches it: the real fastify
 * app (memory SQLite, a manual clock) driven in-process with app.inject, so
 * every body, query and path parameter goes through the routes' schemas
 * (src/protocol/control-api.ts, src/control/schemas.ts), the error handler
 * and the handlers behind them.
 */
import fc from 'fast-check';
import { isClientErrorCode } from '../../src/core/errors.js';
import { adminAuth, newSourceKey, startWithTracker } from '../control/helpers.js';
import { expect, timedAsync, type FuzzRun, type FuzzTarget, checkProperty } from './harness.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Route {
  method: Method;
  /** `{}` is replaced by a path parameter. */
  path: string;
  admin: boolean;
  /** A body the route accepts, to mutate. */
  valid?: fc.Arbitrary<Record<string, unknown>>;
}

const b64u = (n: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64url'));
const name = fc.oneof(fc.constantFrom('alice', 'news', 'admin'), fc.string({ minLength: 1, maxLength: 12 }));
const date = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2030-01-01', '2030-02-30', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '0000-00-00', 'now', ''),
  fc.string({ maxLength: 30 }),
);

const ROUTES: Route[] = [
  {
    method: 'POST',
    path: '/v1/programs/{}/request',
    admin: false,
    valid: fc.oneof(
      fc.record({ user: name, password: fc.string({ minLength: 1, maxLength: 20 }), client_key: b64u(32) }),
      fc.record({ user: name, device: b64u(16), device_secret: b64u(32), client_key: b64u(32) }),
    ),
  },
  { method: 'POST', path: '/v1/devices', admin: false, valid: fc.record({ user: name, password: fc.string({ minLength: 1, maxLength: 20 }), label: fc.string({ maxLength: 20 }) }) },
  { method: 'DELETE', path: '/v1/devices/{}', admin: false },
  { method: 'POST', path: '/v1/sessions/{}/renew', admin: false, valid: fc.record({ ts: fc.maxSafeInteger().map(Math.abs), sig: b64u(64) }) },
  { method: 'GET', path: '/v1/health', admin: false },
  { method: 'PATCH', path: '/v1/admin/users/{}', admin: true, valid: fc.record({ max_sessions: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.constant(null)) }) },
  {
    method: 'POST',
    path: '/v1/admin/programs',
    admin: true,
    valid: fc.record(
      {
        id: name,
        title: fc.string({ minLength: 1, maxLength: 20 }),
        bitrate_bps: fc.integer({ min: 1000, max: 1_000_000_000 }),
        length_s: fc.oneof(fc.double({ min: 0.001, max: 1e8, noNaN: true }), fc.constant(null)),
        packets_per_piece: fc.integer({ min: 1, max: 2048 }),
        source_key: fc.constant(newSourceKey()),
      },
      { requiredKeys: ['id', 'title'] },
    ),
  },
  { method: 'PATCH', path: '/v1/admin/programs/{}', admin: true, valid: fc.record({ source_key: b64u(32) }) },
  { method: 'POST', path: '/v1/admin/programs/{}/source', admin: true, valid: fc.record({ client_key: b64u(32) }) },
  {
    method: 'PUT',
    path: '/v1/admin/subscriptions',
    admin: true,
    valid: fc.record(
      { user: name, program: name, until: fc.oneof(date, fc.constant(null)), max_sessions: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.constant(null)) },
      { requiredKeys: ['user', 'program'] },
    ),
  },
  { method: 'DELETE', path: '/v1/admin/subscriptions/{}/news', admin: true },
  { method: 'POST', path: '/v1/admin/kick', admin: true, valid: fc.record({ user: name, session: fc.string({ minLength: 1, maxLength: 20 }), reason: fc.string({ minLength: 1, maxLength: 20 }) }, { requiredKeys: [] }) },
  { method: 'GET', path: '/v1/admin/sessions', admin: true },
  { method: 'GET', path: '/v1/admin/subscriptions', admin: true },
  { method: 'GET', path: '/v1/admin/disconnects', admin: true },
  { method: 'GET', path: '/v1/admin/disconnects/{}', admin: true },
];

/** A valid body with one field dropped, replaced by any JSON value, or added. */
function mutatedBody(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid, fc.nat(), fc.constantFrom('keep', 'drop', 'replace', 'add'), fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 8 }))
    .map(([body, at, op, value, key]) => {
      const out: Record<string, unknown> = { ...body };
      const keys = Object.keys(out);
      const k = keys.length > 0 ? (keys[at % keys.length] as string) : key;
      if (op === 'drop') delete out[k];
      else if (op === 'replace') out[k] = value;
      else if (op === 'add') out[key] = value;
      return out;
    });
}

interface ApiCase {
  /** Index in ROUTES (the route itself holds arbitraries, too long to print). */
  route: number;
  param: string;
  query: string;
  /** undefined: no body. */
  body: string | undefined;
  contentType: string | undefined;
  auth: 'admin' | 'none' | 'garbage';
}

const param = fc.oneof(name, fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('', '..', '%00', '%ff', 'a'.repeat(300)));
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?all=1', '?all=yes', '?user=alice&program=news', '?limit=99999', '?limit=-1', '?pending=1&session=x', '?a=1&a=2', '?%zz'),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `?${encodeURIComponent(s)}`),
);

function apiCase(index: number): fc.Arbitrary<ApiCase> {
  const route = ROUTES[index] as Route;
  const json = fc.oneof(fc.jsonValue({ maxDepth: 3 }), ...(route.valid ? [route.valid, mutatedBody(route.valid), mutatedBody(route.valid)] : []));
  const body = fc.oneof(
    { arbitrary: json.map((v) => JSON.stringify(v) ?? 'null'), weight: 6 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 60 }), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
  return fc.record({
    route: fc.constant(index),
    param: fc.oneof(
      { arbitrary: param.map((p) => encodeURIComponent(p)), weight: 6 },
      // Broken percent-encodings reach the router as they are.
      { arbitrary: fc.constantFrom('%zz', '%', '%E0%A4%A', '%C3%28', 'a%2', '%%'), weight: 1 },
    ),
    query,
    body,
    contentType: fc.oneof(
      { arbitrary: fc.constant('application/json'), weight: 8 },
      { arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data', ''), weight: 2 },
    ),
    auth: fc.oneof({ arbitrary: fc.constant('admin' as const), weight: 6 }, fc.constantFrom('none' as const, 'garbage' as const)),
  });
}

const anyCase = fc.integer({ min: 0, max: ROUTES.length - 1 }).chain(apiCase);

/**
 * Found by this target: fastify's router answered two faults itself, in
 * fastify's own error shape ({error: "Bad Request", code: "FST_ERR_..."}),
 * before the project's error handler saw them — a path parameter over the
 * router's maxParamLength of 100 (414) and a malformed percent-encoding in the
 * path (400). Fixed (fastify's `frameworkErrors` option, control/framework-errors.ts):
 * they now answer {error:{code:"invalid_request",message}} like every other
 * error, and this target accepts no other shape.
 */
const ADMIN = adminAuth();

async function openControlApi(): Promise<FuzzRun> {
  // A tracker on the link, so admissions get past "no tracker" into the handlers behind them.
  const h = await startWithTracker();
  const run = timedAsync(async (c: ApiCase): Promise<void> => {
    const route = ROUTES[c.route] as Route;
    const headers: Record<string, string> = {};
    if (c.contentType !== undefined && c.body !== undefined) headers['content-type'] = c.contentType;
    if (c.auth === 'admin' && route.admin) headers['authorization'] = ADMIN;
    else if (c.auth === 'garbage') headers['authorization'] = 'Basic %%%';
    const url = `${route.path.replace('{}', c.param)}${c.query}`;
    const res = await h.server.app.inject({ method: route.method, url, payload: c.body, headers });
    if (res.statusCode >= 400) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        parsed = undefined;
      }
      const err = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      expect(typeof err?.code === 'string' && typeof err.message === 'string', `${res.statusCode} without an error body: ${res.body.slice(0, 200)}`);
      // A 5xx only as a ClientError the API documents (503 no_tracker), never the error handler's 500.
      expect(res.statusCode < 500 || isClientErrorCode(err.code), `${route.method} ${url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    }
  });
  return {
    check: (opts) => checkProperty(fc.asyncProperty(anyCase, run), opts),
    close: () => h.close(),
  };
}

export const controlApiTarget: FuzzTarget = {
  name: 'control-api',
  checks:
    "the control server's routes (admission, device login/logout, renewal, health, admin users/programs/subscriptions/kick/sessions/disconnects) through app.inject with any JSON, mutated valid bodies, raw text, odd content types, path parameters and queries, with and without admin credentials: never a 500 (a 5xx only as a documented ClientError such as 503 no_tracker), every error answer carries {error:{code,message}}",
  testRuns: 300,
  open: openControlApi,
};
