/**
 * A tracker given several control servers (`--control a,b`): its control link
 * uses one at a time, moves to the next after a failed dial or a lost link,
 * says hello there with the sessions it holds, and keeps its unacked joins and
 * leaves across the move. Fake control servers over real WebSockets; redials
 * in virtual time.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { ControlLinkClient, splitControlUrls } from '../../src/tracker/control-link-client.js';
import { advanceUntil, SECRET, startFakeControl, type FakeControl } from '../tracker/helpers.js';

/** A logger whose lines the test reads. */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function until(cond: () => boolean): Promise<void> {
  // The link's state changes on socket events the test cannot await; poll briefly.
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
}

describe('control link failover across control servers', () => {
  const controls: FakeControl[] = [];
  const links: ControlLinkClient[] = [];
  afterEach(async () => {
    for (const l of links.splice(0)) await l.stop();
    for (const c of controls.splice(0)) await c.close();
  });

  function link(controlUrl: string | string[], clock: ManualClock, logger: Logger, sessions: string[] = []): ControlLinkClient {
    const l = new ControlLinkClient({
      controlUrl,
      secret: SECRET,
      trackerId: 'tracker-x',
      announceUrl: 'http://127.0.0.1:6969/announce',
      wsUrl: 'ws://127.0.0.1:6969/channel',
      clock,
      logger,
      sessions: () => sessions,
      onWelcome: async () => {},
      onDisconnect: () => {},
    });
    links.push(l);
    return l;
  }

  it('reads a list from commas and arrays, dropping blanks and duplicates', () => {
    assert.deepEqual(splitControlUrls('http://a:1, http://b:2,,http://a:1'), ['http://a:1', 'http://b:2']);
    assert.deepEqual(splitControlUrls(['http://a:1,http://b:2', 'http://c:3']), ['http://a:1', 'http://b:2', 'http://c:3']);
    assert.deepEqual(splitControlUrls('http://only:1'), ['http://only:1']);
  });

  it('moves to the next control server when its link is lost: hello with the sessions held, unacked reports resent there', async () => {
    const clock = new ManualClock();
    const a = await startFakeControl({ dropFirstAck: true });
    const b = await startFakeControl();
    controls.push(a, b);
    const { logger, lines } = capture();
    const l = link(`${a.url},${b.url}`, clock, logger, ['s-held']);
    l.start();
    await l.ready;
    assert.equal(l.controlUrl, a.url);
    l.join({ sid: 's-new', ip: '10.0.0.1', port: 6881, at: clock.now() });
    const join = await a.received.waitFor((m) => m.type === 'join');
    assert.equal(l.pending, 1, 'the first copy is not acked by a');

    await a.close();
    const hello = await advanceUntil(clock, b.received.waitFor((m) => m.type === 'hello'));
    assert.deepEqual(hello, {
      type: 'hello',
      tracker_id: 'tracker-x',
      announce_url: 'http://127.0.0.1:6969/announce',
      ws_url: 'ws://127.0.0.1:6969/channel',
      sessions: ['s-held'],
    });
    const resent = await b.received.waitFor((m) => m.type === 'join');
    assert.deepEqual(resent, join, 'the same report, same id: b acks it and a never has to');
    await until(() => l.pending === 0);
    assert.equal(l.controlUrl, b.url);
    assert.ok(l.connected);
    assert.ok(lines.some((s) => s.includes('control link up') && s.includes(b.url)), 'the log says which control server it is on');
  });

  it('skips a control server it cannot dial, without waiting out the backoff of a whole failed round', async () => {
    const clock = new ManualClock();
    const dead = await startFakeControl();
    const deadUrl = dead.url;
    await dead.close();
    const b = await startFakeControl();
    controls.push(b);
    const { logger } = capture();
    const l = link([deadUrl, b.url], clock, logger);
    l.start();
    // One step of 100 ms virtual (LINK_BACKOFF_MIN_MS) is all the move may take.
    await advanceUntil(clock, l.ready, 100, 200);
    assert.equal(l.controlUrl, b.url);
    assert.equal(b.connections, 1);
  });

  it('comes back round to the first control server when the others are gone too', async () => {
    const clock = new ManualClock();
    const a = await startFakeControl();
    const b = await startFakeControl();
    controls.push(a, b);
    const { logger } = capture();
    const l = link([a.url, b.url], clock, logger);
    l.start();
    await l.ready;
    a.kick(); // a drops the link but is still up
    await advanceUntil(clock, b.received.waitFor((m) => m.type === 'hello'));
    await until(() => l.connected && l.controlUrl === b.url);
    await b.close();
    await advanceUntil(clock, a.received.waitFor((m) => m.type === 'hello', 1));
    await until(() => l.connected && l.controlUrl === a.url);
    assert.equal(a.connections, 2);
  });
});
