/**
 * The tracker secret as an attacker with no credentials meets it: wrong
 * secrets thrown at the control link over real sockets. The secret is a
 * password (whoever guesses it registers a tracker that admissions hand out),
 * so its guesses are throttled per client address like every other password
 * check: past the limit, 429 with Retry-After, and the right secret from that
 * address waits for the window too; other addresses are not affected.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { DEFAULTS } from '../../src/core/config.js';
import { TRACKER_SECRET, startServer, type Harness } from './helpers.js';

/** One upgrade attempt: the HTTP status it was refused with (and its Retry-After), or 101 when it opened. */
async function attempt(url: string, secret: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`, { headers: { authorization: `Bearer ${secret}` } });
  ws.on('error', () => undefined);
  const outcome = await Promise.race([
    once(ws, 'open').then(() => ({ status: 101, retryAfter: undefined })),
    (once(ws, 'unexpected-response') as Promise<[unknown, IncomingMessage]>).then(([, res]) => ({
      status: res.statusCode ?? 0,
      retryAfter: res.headers['retry-after'],
    })),
  ]);
  ws.terminate();
  return outcome;
}

describe('tracker secret guessing', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startServer();
    url = await h.server.listen(0);
  });
  after(async () => {
    await h.close();
  });

  it('refuses an address with 429 once its guesses pass the limit, the right secret included, until the window passes', async () => {
    const limit = DEFAULTS.loginFailuresPerAddress;
    const statuses: number[] = [];
    for (let i = 0; i < limit + 5; i++) statuses.push((await attempt(url, `guess-${i}`)).status);
    assert.deepEqual(statuses.slice(0, limit), Array<number>(limit).fill(401), 'the first guesses are plain refusals');
    assert.deepEqual(statuses.slice(limit), Array<number>(5).fill(429), 'then the address is throttled');

    // A correct guess from the throttled address gets nothing either: the limit bounds what a brute force can try.
    const right = await attempt(url, TRACKER_SECRET);
    assert.equal(right.status, 429);
    assert.ok(Number(right.retryAfter) > 0, 'Retry-After says when to come back');

    h.clock.advance(DEFAULTS.loginWindowMs + 1);
    assert.equal((await attempt(url, TRACKER_SECRET)).status, 101, 'after the window the right secret opens the link');
  });
});
