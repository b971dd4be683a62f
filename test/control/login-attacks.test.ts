/**
 * The login attacks of issue 8, played against a control server on a real
 * socket: password guessing (one user, many users from one address, a
 * concurrent flood), answers that tell an unknown user, a wrong password and
 * a non-admin apart, and program probing without credentials. The window is
 * driven by the server's ManualClock.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { DEFAULTS } from '../../src/core/config.js';
import { ADMIN_PASSWORD, admin, newClientKey, startWithTracker } from './helpers.js';

type Started = Awaited<ReturnType<typeof startWithTracker>>;
let h: Started | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function post(url: string, path: string, body: unknown): Promise<{ status: number; retryAfter: string | null; code: string | undefined }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: { code: string } };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), code: json.error?.code };
}

const ask = (url: string, user: string, password: string, program = 'news') =>
  post(url, `/v1/programs/${program}/request`, { user, password, client_key: newClientKey().publicKey });

async function adminGet(url: string, user: string, password: string): Promise<{ status: number; retryAfter: string | null }> {
  const res = await fetch(`${url}/v1/admin/users`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
}

/** The whole HTTP response as bytes, with only the Date line taken out (it is the one thing allowed to differ). */
function raw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1').replace(/^date: .*\r\n/im, '')));
  });
}

function rawPost(path: string, body: unknown): string {
  const text = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

const rawAdmin = (user: string, password: string): string =>
  `GET /v1/admin/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}\r\n\r\n`;

describe('login attacks', () => {
  it('20 wrong passwords in 10 s: from the 6th on 429 with Retry-After, even for the right password; it works again after the window', async () => {
    h = await startWithTracker();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await ask(h.url, 'alice', `guess-${i}`);
      statuses.push(r.status);
      if (i >= 5) {
        assert.equal(r.code, 'rate_limited');
        const s = Number(r.retryAfter);
        assert.ok(Number.isInteger(s) && s >= 1 && s <= DEFAULTS.loginWindowMs / 1000, `Retry-After ${r.retryAfter}`);
      }
      h.clock.advance(500);
    }
    assert.deepEqual(statuses, [...Array<number>(5).fill(401), ...Array<number>(15).fill(429)]);
    // Guessing has stopped: the right password gets the same 429, so a lucky guess tells nothing.
    const right = await ask(h.url, 'alice', 'pw-alice');
    assert.equal(right.status, 429);
    // A device login is a password check too, and is throttled the same.
    assert.equal((await post(h.url, '/v1/devices', { user: 'alice', password: 'pw-alice' })).status, 429);
    // Not locked for good: Retry-After seconds later the right password works.
    h.clock.advance(Number(right.retryAfter) * 1000);
    assert.equal((await ask(h.url, 'alice', 'pw-alice')).status, 200);
  });

  it('admin Basic auth: a guess flood against admin is throttled the same, and the admin gets back in after the window', async () => {
    h = await startWithTracker();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await adminGet(h.url, 'admin', `guess-${i}`);
      statuses.push(r.status);
      if (i >= 5) assert.ok(Number(r.retryAfter) >= 1, `Retry-After ${r.retryAfter}`);
      h.clock.advance(500);
    }
    assert.deepEqual(statuses, [...Array<number>(5).fill(401), ...Array<number>(15).fill(429)]);
    const right = await adminGet(h.url, 'admin', ADMIN_PASSWORD);
    assert.equal(right.status, 429);
    h.clock.advance(Number(right.retryAfter) * 1000);
    assert.equal((await adminGet(h.url, 'admin', ADMIN_PASSWORD)).status, 200);
  });

  it('50 concurrent guesses get exactly 5 password checks: the rest are refused before any hashing', async () => {
    h = await startWithTracker();
    const url = h.url;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => ask(url, 'alice', `guess-${i}`)));
    assert.equal(results.filter((r) => r.status === 401).length, 5);
    assert.equal(results.filter((r) => r.status === 429).length, 45);
  });

  it('one address guessing many users is stopped at the per-address limit, even for a name it has not tried', async () => {
    h = await startWithTracker();
    const perAddress = DEFAULTS.loginFailuresPerAddress;
    for (let i = 0; i < perAddress; i++) assert.equal((await ask(h.url, `user${i}`, 'guess')).status, 401);
    const next = await ask(h.url, 'alice', 'guess');
    assert.equal(next.status, 429);
    assert.equal(next.code, 'rate_limited');
  });

  it('unknown user and wrong password get byte-identical answers, and so does an unknown program with bad credentials', async () => {
    h = await startWithTracker();
    const key = newClientKey().publicKey;
    const wrong = await raw(h.url, rawPost('/v1/programs/news/request', { user: 'alice', password: 'nope', client_key: key }));
    const unknownUser = await raw(h.url, rawPost('/v1/programs/news/request', { user: 'mallory', password: 'nope', client_key: key }));
    const probe = await raw(h.url, rawPost('/v1/programs/secret-channel/request', { user: 'mallory', password: 'nope', client_key: key }));
    assert.match(wrong, /^HTTP\/1\.1 401 /);
    assert.equal(unknownUser, wrong);
    assert.equal(probe, wrong, 'program existence is not revealed before the credentials are checked');
    // With good credentials the program's absence is told.
    assert.equal((await ask(h.url, 'alice', 'pw-alice', 'secret-channel')).code, 'unknown_program');
  });

  it("admin routes: unknown user, wrong password and a non-admin's right password get byte-identical answers", async () => {
    h = await startWithTracker();
    const unknown = await raw(h.url, rawAdmin('mallory', 'nope'));
    const wrong = await raw(h.url, rawAdmin('admin', 'nope'));
    const nonAdmin = await raw(h.url, rawAdmin('alice', 'pw-alice'));
    assert.match(wrong, /^HTTP\/1\.1 401 /);
    assert.match(wrong, /www-authenticate: Basic/i);
    assert.equal(unknown, wrong);
    assert.equal(nonAdmin, wrong);
    assert.doesNotMatch(nonAdmin, /not an admin/);
  });

  it("a non-admin's right password counts as a failed admin login, so the throttle does not reveal it either", async () => {
    h = await startWithTracker();
    for (let i = 0; i < 5; i++) assert.equal((await adminGet(h.url, 'alice', 'pw-alice')).status, 401);
    assert.equal((await adminGet(h.url, 'alice', 'pw-alice')).status, 429);
    // The admin itself is untouched by alice's lock.
    assert.equal((await admin(h, 'GET', '/v1/admin/users')).status, 200);
  });
});
