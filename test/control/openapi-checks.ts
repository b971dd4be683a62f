/**
 * Checks behind test/control/openapi.test.ts, each returning the problems it
 * finds (empty: none), so the test can also show each one failing on a
 * made-up bad input.
 */
import type { RouteRecord } from '../../src/control/openapi.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function isObj(v: Json | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `/v1/users/:name` and `/v1/users/{name}` → `/v1/users/{}`: routes compared by shape, not parameter names. */
export function routeShape(path: string): string {
  return path.replace(/:[A-Za-z0-9_]+/g, '{}').replace(/\{[^}]*\}/g, '{}');
}

/** Routes that must carry a schema but do not: no schema, no 2xx response, no summary or tags, path parameters without params. */
export function routesWithoutSchema(routes: readonly RouteRecord[], exempt: (r: RouteRecord) => boolean): string[] {
  const problems: string[] = [];
  for (const r of routes) {
    if (exempt(r)) continue;
    const name = `${r.method} ${r.url}`;
    const s = r.schema;
    if (!s) {
      problems.push(`${name}: no schema`);
      continue;
    }
    if (s.hide) problems.push(`${name}: hidden from the document`);
    const response = s.response as Record<string, unknown> | undefined;
    if (!response || !Object.keys(response).some((code) => /^2(\d\d|XX)$/.test(code))) problems.push(`${name}: no success response schema`);
    if (!s.summary) problems.push(`${name}: no summary`);
    if (!s.tags || s.tags.length === 0) problems.push(`${name}: no tags`);
    if (r.url.includes(':') && !s.params) problems.push(`${name}: path parameters without a params schema`);
    if (['POST', 'PUT', 'PATCH'].includes(r.method) && !s.body && !/\/(logout-all)$/.test(r.url)) problems.push(`${name}: no body schema`);
  }
  return problems;
}

/** `METHOD /path` as docs/API.md writes routes: in backticks (`GET /v1/admin/users[?all=1]`) or quoted in JSON ("POST /v1/programs/{id}/request"). */
export function routesNamedIn(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const m of markdown.matchAll(/[`"](GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\/[^`"\s[?]*)/g)) {
    found.add(`${m[1]} ${routeShape(m[2] ?? '')}`);
  }
  return found;
}

/** Operations of the document, as `METHOD /shape`. */
export function documentedRoutes(doc: Obj): Set<string> {
  const found = new Set<string>();
  const paths = isObj(doc.paths) ? doc.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObj(item)) continue;
    for (const method of HTTP_METHODS) if (isObj(item[method])) found.add(`${method.toUpperCase()} ${routeShape(path)}`);
  }
  return found;
}

function resolvePointer(doc: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let at: Json | undefined = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) at = at[Number(key)];
    else if (isObj(at)) at = Object.hasOwn(at, key) ? at[key] : undefined;
    else return undefined;
  }
  return at;
}

const SCHEMA_TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean']);
/** The Schema Object's fields in OpenAPI 3.0 (no const, no patternProperties, no type "null": those are 3.1). */
const SCHEMA_KEYWORDS = new Set(
  ('title multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength pattern maxItems minItems uniqueItems ' +
    'maxProperties minProperties required enum type allOf oneOf anyOf not items properties additionalProperties description ' +
    'format default nullable discriminator readOnly writeOnly xml externalDocs example deprecated $ref').split(' '),
);

/** A Schema Object and those inside it. */
function checkSchema(node: Json | undefined, where: string, problems: string[]): void {
  if (!isObj(node)) {
    if (node !== true && node !== undefined) problems.push(`${where}: not a schema`);
    return;
  }
  for (const key of Object.keys(node)) {
    if (!SCHEMA_KEYWORDS.has(key) && !key.startsWith('x-')) problems.push(`${where}: ${key} is not an OpenAPI 3.0 schema field`);
  }
  if (node.type !== undefined && (typeof node.type !== 'string' || !SCHEMA_TYPES.has(node.type))) {
    problems.push(`${where}: schema type ${JSON.stringify(node.type)} is not an OpenAPI 3.0 type`);
  }
  if (isObj(node.properties)) for (const [k, v] of Object.entries(node.properties)) checkSchema(v, `${where}/properties/${k}`, problems);
  for (const k of ['items', 'additionalProperties', 'not'] as const) if (isObj(node[k])) checkSchema(node[k], `${where}/${k}`, problems);
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = node[k];
    if (Array.isArray(list)) list.forEach((x, i) => checkSchema(x, `${where}/${k}/${i}`, problems));
  }
}

/** The schemas of a Media Type map (`content`). */
function checkContent(content: Json | undefined, where: string, problems: string[]): void {
  if (!isObj(content)) return;
  for (const [type, media] of Object.entries(content)) if (isObj(media)) checkSchema(media.schema, `${where}/${type}`, problems);
}

/** A small structural check of an OpenAPI 3.0 document: the parts a reader or a code generator relies on. */
export function openApiProblems(doc: Obj): string[] {
  const problems: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.0\.\d+$/.test(doc.openapi)) problems.push(`openapi: ${JSON.stringify(doc.openapi)} is not 3.0.x`);
  const info = doc.info;
  if (!isObj(info) || typeof info.title !== 'string' || typeof info.version !== 'string') problems.push('info: title and version are required strings');
  if (!isObj(doc.paths)) return [...problems, 'paths: required object'];
  const components = isObj(doc.components) ? doc.components : {};
  const schemes = isObj(components.securitySchemes) ? components.securitySchemes : {};
  for (const [name, scheme] of Object.entries(schemes)) {
    if (!isObj(scheme) || !['apiKey', 'http', 'oauth2', 'openIdConnect'].includes(String(scheme.type))) problems.push(`securitySchemes.${name}: bad type`);
    else if (scheme.type === 'http' && typeof scheme.scheme !== 'string') problems.push(`securitySchemes.${name}: http without scheme`);
  }
  const declaredTags = new Set(Array.isArray(doc.tags) ? doc.tags.map((t) => (isObj(t) ? String(t.name) : '')) : []);
  const operationIds = new Set<string>();

  // Every $ref, anywhere, must resolve inside the document.
  const walkRefs = (node: Json, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walkRefs(n, `${where}/${i}`));
    if (!isObj(node)) return;
    if (typeof node.$ref === 'string' && resolvePointer(doc, node.$ref) === undefined) problems.push(`${where}: $ref ${node.$ref} does not resolve`);
    for (const [k, v] of Object.entries(node)) walkRefs(v, `${where}/${k}`);
  };
  walkRefs(doc, '#');
  if (isObj(components.schemas)) for (const [k, v] of Object.entries(components.schemas)) checkSchema(v, `#/components/schemas/${k}`, problems);

  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/')) problems.push(`${path}: a path starts with /`);
    if (!isObj(item)) {
      problems.push(`${path}: not a path item`);
      continue;
    }
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      const name = `${method.toUpperCase()} ${path}`;
      if (!isObj(op)) {
        problems.push(`${name}: not an operation`);
        continue;
      }
      const params = (Array.isArray(op.parameters) ? op.parameters : []).map((p) => (isObj(p) && typeof p.$ref === 'string' ? resolvePointer(doc, p.$ref) : p));
      const seen = new Set<string>();
      for (const p of params) {
        if (!isObj(p) || typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(String(p.in))) {
          problems.push(`${name}: a parameter without name or in`);
          continue;
        }
        const key = `${String(p.in)}:${p.name}`;
        if (seen.has(key)) problems.push(`${name}: parameter ${key} twice`);
        seen.add(key);
        if (p.in === 'path' && p.required !== true) problems.push(`${name}: path parameter ${p.name} must be required`);
        if (p.in === 'path' && !templated.includes(p.name)) problems.push(`${name}: path parameter ${p.name} is not in the path`);
        if (!isObj(p.schema) && !isObj(p.content)) problems.push(`${name}: parameter ${key} has neither schema nor content`);
        checkSchema(p.schema, `${name} parameter ${key}`, problems);
      }
      for (const t of templated) if (!seen.has(`path:${t}`)) problems.push(`${name}: {${t}} has no path parameter`);
      const responses = op.responses;
      if (!isObj(responses) || Object.keys(responses).length === 0) problems.push(`${name}: no responses`);
      else {
        for (const [code, res] of Object.entries(responses)) {
          if (!/^([1-5](\d\d|XX)|default)$/.test(code)) problems.push(`${name}: response key ${code}`);
          const r = isObj(res) && typeof res.$ref === 'string' ? resolvePointer(doc, res.$ref) : res;
          if (!isObj(r) || typeof r.description !== 'string') problems.push(`${name}: response ${code} without a description`);
          else checkContent(r.content, `${name} response ${code}`, problems);
        }
      }
      if (op.requestBody !== undefined && (!isObj(op.requestBody) || !isObj(op.requestBody.content))) problems.push(`${name}: requestBody without content`);
      else if (isObj(op.requestBody)) checkContent(op.requestBody.content, `${name} body`, problems);
      for (const requirement of Array.isArray(op.security) ? op.security : []) {
        for (const scheme of isObj(requirement) ? Object.keys(requirement) : ['?']) {
          if (!Object.hasOwn(schemes, scheme)) problems.push(`${name}: security scheme ${scheme} is not in components.securitySchemes`);
        }
      }
      for (const tag of Array.isArray(op.tags) ? op.tags : []) if (!declaredTags.has(String(tag))) problems.push(`${name}: tag ${String(tag)} is not declared`);
      if (typeof op.operationId === 'string') {
        if (operationIds.has(op.operationId)) problems.push(`${name}: operationId ${op.operationId} twice`);
        operationIds.add(op.operationId);
      }
    }
  }
  return problems;
}
