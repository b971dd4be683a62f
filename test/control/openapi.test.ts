/**
 * The control API's OpenAPI document (/openapi.json, /docs): generated from
 * the route schemas, so a route without a schema fails here, and so does a
 * route docs/API.md names that the document lacks; the document is checked
 * for structure (every $ref resolves, path parameters match, security schemes
 * exist), its security claims are checked against the server's answers, and
 * the browsable /docs loads nothing from elsewhere.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { DOCS_PREFIX, OPENAPI_PATH, registerOpenApi, routeTable, type RouteRecord } from '../../src/control/openapi.js';
import { DEFAULTS } from '../../src/core/config.js';
import { documentedRoutes, openApiProblems, routeShape, routesNamedIn, routesWithoutSchema, HTTP_METHODS } from './openapi-checks.js';
import { startServer, type Harness } from './helpers.js';

type Obj = { [key: string]: Json };
type Json = null | boolean | number | string | Json[] | Obj;

/** swagger-ui's own routes (index, assets, its copy of the document): hidden from the document on purpose. */
const docsInternals = (r: RouteRecord): boolean => r.url === DOCS_PREFIX || r.url.startsWith(`${DOCS_PREFIX}/`);

/** Routes docs/API.md names that are not the control server's HTTP routes, and why. */
const NOT_CONTROL_HTTP_ROUTES: Record<string, string> = {
  'GET /health': "the tracker's health endpoint, on the tracker's port",
  [`GET ${DEFAULTS.controlLinkPath}`]: "the trackers' WebSocket control link: an upgrade on the HTTP server, outside fastify's router (docs/PROTOCOL.md)",
};

const API_MD = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');

describe('control server: OpenAPI document', () => {
  let h: Harness;
  let doc: Obj;
  before(async () => {
    h = await startServer({ expiryCheckMs: null });
    const res = await h.server.app.inject({ method: 'GET', url: OPENAPI_PATH });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    doc = res.json<Obj>();
  });
  after(() => h.close());

  it('covers every route with a schema: success response, summary, tags, params (all but /docs internals)', () => {
    const routes = routeTable(h.server.app);
    assert.ok(routes.length >= 25, `the route table saw ${routes.length} routes`);
    assert.deepEqual(routesWithoutSchema(routes, docsInternals), []);
  });

  it('documents every route it walked, and none of the /docs internals', () => {
    const documented = documentedRoutes(doc);
    const routes = routeTable(h.server.app);
    for (const r of routes.filter((x) => !docsInternals(x))) assert.ok(documented.has(`${r.method} ${routeShape(r.url)}`), `${r.method} ${r.url} missing`);
    for (const path of Object.keys(doc.paths as Obj)) assert.ok(!path.startsWith(DOCS_PREFIX), `${path} is swagger-ui's own`);
    assert.equal(documented.size, routes.filter((x) => !docsInternals(x)).length);
  });

  it('has every route docs/API.md names', () => {
    const named = routesNamedIn(API_MD);
    assert.ok(named.size >= 25, `parsed ${named.size} routes out of docs/API.md`);
    const documented = documentedRoutes(doc);
    const missing = [...named].filter((r) => !documented.has(r) && !Object.hasOwn(NOT_CONTROL_HTTP_ROUTES, r));
    assert.deepEqual(missing, [], 'docs/API.md names routes the OpenAPI document lacks');
    // The exceptions are real exceptions: named in the docs, and not routes of the control server.
    for (const r of Object.keys(NOT_CONTROL_HTTP_ROUTES)) {
      assert.ok(named.has(r), `${r} is no longer in docs/API.md: drop it from the exceptions`);
      assert.ok(!documented.has(r), `${r} is a control route after all`);
    }
    assert.ok(!routeTable(h.server.app).some((x) => x.url === DEFAULTS.controlLinkPath), 'the control link is not a fastify route');
  });

  it('is structurally valid OpenAPI 3.0: $refs resolve, path parameters match, schemes and tags declared', () => {
    assert.deepEqual(openApiProblems(doc), []);
    assert.equal((doc.info as Obj).version, JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });

  it('declares Basic (or admin device, or console cookie) on every admin route, Bearer on device logout, the cookie on the console API, nothing on the rest', () => {
    const paths = doc.paths as Obj;
    for (const [path, item] of Object.entries(paths)) {
      for (const method of HTTP_METHODS) {
        const op = (item as Obj)[method] as Obj | undefined;
        if (!op) continue;
        const security = JSON.stringify(op.security ?? null);
        if (path.startsWith('/v1/admin/')) assert.equal(security, '[{"admin_basic":[]},{"admin_device":[]},{"console_session":[]}]', `${method} ${path}`);
        else if (path === '/v1/devices/{device}' && method === 'delete') assert.equal(security, '[{"device_secret":[]}]');
        // The console's API behind its cookie; signing in (POST /v1/console/session) is the way to get one.
        else if (path.startsWith('/v1/console/') && !(path === '/v1/console/session' && method === 'post')) {
          assert.equal(security, '[{"console_session":[]}]', `${method} ${path}`);
        }
        else assert.equal(security, 'null', `${method} ${path} is public`);
      }
    }
    const schemes = (doc.components as Obj).securitySchemes as Obj;
    assert.deepEqual(schemes.admin_basic, { type: 'http', scheme: 'basic', description: 'an admin user of the customer database' });
    assert.equal((schemes.device_secret as Obj).scheme, 'bearer');
  });

  it('matches the server: every secured operation refuses a request without credentials, every public GET answers one', async () => {
    for (const [path, item] of Object.entries(doc.paths as Obj)) {
      for (const method of HTTP_METHODS) {
        const op = (item as Obj)[method] as Obj | undefined;
        if (!op) continue;
        const url = path.replace(/\{[^}]+\}/g, 'x');
        const res = await h.server.app.inject({ method: method.toUpperCase() as 'GET', url, payload: method === 'get' || method === 'delete' ? undefined : {} });
        if (op.security) {
          assert.equal(res.statusCode, 401, `${method} ${url} without credentials: ${res.body}`);
          assert.match(res.json<{ error: { code: string } }>().error.code, /^(unauthorized|login_required)$/);
        } else if (method === 'get') {
          // A page may redirect (/console → /console/); a made-up path parameter may be unknown (404).
          const ceiling = path.includes('{') ? 500 : 400;
          assert.ok(res.statusCode < ceiling && res.statusCode !== 401, `${method} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        } else {
          assert.notEqual(res.statusCode, 401, `${method} ${url} is documented as public`);
        }
      }
    }
  });

  it('answers errors in the one shape the document declares', async () => {
    const error = (doc.components as Obj).schemas as Obj;
    assert.deepEqual((error.Error as Obj).required, ['error']);
    const res = await h.server.app.inject({ method: 'GET', url: '/v1/admin/users' });
    assert.deepEqual(Object.keys(res.json<Obj>()), ['error']);
  });

  it('serves the same document over real HTTP', async () => {
    const base = await h.server.listen(0);
    const res = await fetch(`${base}${OPENAPI_PATH}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), doc);
  });
});

describe('control server: /docs', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ expiryCheckMs: null });
  });
  after(() => h.close());

  it('serves swagger-ui from the npm package with a CSP that allows nothing from elsewhere', async () => {
    const page = await h.server.app.inject({ method: 'GET', url: `${DOCS_PREFIX}/` });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "connect-src 'self'", "script-src 'self'", "font-src 'self'", "img-src 'self' data:"]) {
      assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
    }
    assert.doesNotMatch(csp, /https?:|validator/, 'no other origin allowed');
    const assets = [...page.body.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(assets.length >= 5, `assets: ${assets.join(', ')}`);
    for (const asset of assets) {
      assert.ok(asset.startsWith(`${DOCS_PREFIX}/static/`) || asset.startsWith('./static/'), `${asset} is served by the control server`);
      const res = await h.server.app.inject({ method: 'GET', url: asset.replace(/^\.\//, `${DOCS_PREFIX}/`) });
      assert.equal(res.statusCode, 200, asset);
      assert.ok(res.body.length > 0, asset);
    }
  });

  it('turns the validator badge off and points the UI at the server itself', async () => {
    const init = await h.server.app.inject({ method: 'GET', url: `${DOCS_PREFIX}/static/swagger-initializer.js` });
    assert.equal(init.statusCode, 200);
    assert.match(init.body, /validatorUrl: null,/);
    assert.match(init.body, /url: resolveUrl\('\.\/json'\)/);
    // Comments and the inlined logo (a data: URL) aside.
    const code = init.body.replace(/^\s*\/\/.*$/gm, '').replace(/data:image\/[^']+/g, '');
    assert.doesNotMatch(code, /https?:\/\//, 'no absolute URL in the initializer');
    const json = await h.server.app.inject({ method: 'GET', url: `${DOCS_PREFIX}/json` });
    const own = await h.server.app.inject({ method: 'GET', url: OPENAPI_PATH });
    assert.deepEqual(json.json(), own.json());
  });
});

describe('the checks themselves', () => {
  it('fail on a route without a schema, and on one with a schema but no response', async () => {
    const app = Fastify();
    await registerOpenApi(app);
    app.get('/bare', async () => ({}));
    app.get('/half', { schema: { summary: 'half', tags: ['service'] } }, async () => ({}));
    app.post('/v1/things/:id', { schema: { summary: 's', tags: ['service'], response: { 200: { type: 'object' } } } }, async () => ({}));
    await app.ready();
    const problems = routesWithoutSchema(routeTable(app), docsInternals);
    assert.deepEqual(problems.sort(), [
      'GET /bare: no schema',
      'GET /half: no success response schema',
      'POST /v1/things/:id: no body schema',
      'POST /v1/things/:id: path parameters without a params schema',
    ]);
    await app.close();
  });

  it('find a route docs/API.md names that the document lacks, however it is written', () => {
    const md = 'Use `GET /v1/admin/things[?all=1]` or `DELETE /v1/admin/things/:id`; links: {"x":"POST /v1/things/{id}/go"}';
    assert.deepEqual([...routesNamedIn(md)].sort(), ['DELETE /v1/admin/things/{}', 'GET /v1/admin/things', 'POST /v1/things/{}/go']);
  });

  it('find a dangling $ref, a path parameter missing, an undeclared scheme, a 3.1-only null type and a non-3.0 schema field', () => {
    const bad = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      tags: [{ name: 'a' }],
      paths: {
        '/x/{id}': {
          get: {
            tags: ['a'],
            security: [{ nope: [] }],
            responses: {
              200: { description: 'ok', content: { 'application/json': { schema: { type: 'null' } } } },
              '4XX': { $ref: '#/components/responses/Missing' },
            },
          },
        },
      },
    };
    const problems = openApiProblems(bad);
    assert.ok(problems.some((p) => p.includes('$ref #/components/responses/Missing does not resolve')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('{id} has no path parameter')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('security scheme nope')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('"null" is not an OpenAPI 3.0 type')), problems.join('\n'));
    const withRecord = { ...bad, components: { schemas: { R: { type: 'object', patternProperties: { '^a': { type: 'string' } } } } } };
    assert.ok(openApiProblems(withRecord).some((p) => p.includes('patternProperties is not an OpenAPI 3.0 schema field')));
  });
});
