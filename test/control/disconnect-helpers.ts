/** Helpers for the disconnect chain's tests: sessions that have joined, and a tracker that behaves like the real one. */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import WebSocket from 'ws';
import type { ManualClock, TimerHandle } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import type { ControlStore } from '../../src/core/ports.js';
import { controlToTracker, type TrackerToControl } from '../../src/protocol/control-link.js';
import { FakeTracker, TRACKER_SECRET, type Harness } from './helpers.js';

/** A session admitted straight in the store (admission itself is tested elsewhere). */
export async function openSession(store: ControlStore, sid: string, user = 'alice', program = 'news', now = Date.now()): Promise<void> {
  await store.createSession({
    id: sid,
    user,
    program,
    role: 'viewer',
    clientKey: `ckey-${sid}`,
    state: 'admitted',
    ip: null,
    port: null,
    trackerId: null,
    createdAt: now,
    joinedAt: null,
    endedAt: null,
    endReason: null,
  });
}

/** Opens a session and has `tracker` report its join (acked). */
export async function joinedSession(h: Harness, tracker: FakeTracker, sid: string, user = 'alice', program = 'news'): Promise<void> {
  await openSession(h.store, sid, user, program, h.clock.now());
  tracker.send({ type: 'join', id: `join-${sid}`, sid, ip: '10.0.0.9', port: 6881, at: h.clock.now() });
  const ack = await tracker.next();
  if (ack.type !== 'ack' || ack.id !== `join-${sid}`) throw new Error(`expected the join's ack, got ${JSON.stringify(ack)}`);
}

/**
 * Round trip on the link: a leave for an unknown session is always acked, so
 * once its ack is back, everything the control server sent before is here.
 * Use it to show that nothing else was sent.
 */
export async function probe(tracker: FakeTracker, n: number): Promise<void> {
  tracker.send({ type: 'leave', id: `probe-${n}`, sid: 'no-such-session', reason: 'stopped', at: 0 });
  const m = await tracker.next();
  if (m.type !== 'ack' || m.id !== `probe-${n}`) throw new Error(`expected only the probe's ack, got ${JSON.stringify(m)}`);
}

type Report = Extract<TrackerToControl, { type: 'join' | 'leave' }>;

/**
 * A tracker's end of the link that behaves like src/tracker: joins and leaves
 * are resent every retry period until acked; a disconnect is acked, and the
 * client (which obeys at once) is reported `stopped`, or `revoked` when the
 * tracker no longer holds it. Its timers run on the test's clock.
 */
export class SimulatedTracker {
  readonly held = new Set<string>();
  private readonly outbox = new Map<string, { msg: Report; timer: TimerHandle }>();
  private pongs: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    private readonly clock: ManualClock,
    private readonly retryMs: number,
  ) {
    ws.on('message', (data) => {
      const msg = controlToTracker.parse(data);
      if (msg.type === 'ack') {
        this.outbox.get(msg.id)?.timer.cancel();
        this.outbox.delete(msg.id);
      } else if (msg.type === 'disconnect') {
        this.ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
        const held = this.held.delete(msg.sid);
        this.report({ type: 'leave', id: randomUUID(), sid: msg.sid, reason: held ? 'stopped' : 'revoked', ref: msg.id, at: this.clock.now() });
      }
    });
    ws.on('pong', () => this.pongs.shift()?.());
  }

  static async connect(url: string, clock: ManualClock, retryMs: number, id = 'sim-tracker'): Promise<SimulatedTracker> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`, { headers: { authorization: `Bearer ${TRACKER_SECRET}` } });
    await once(ws, 'open');
    const t = new SimulatedTracker(ws, clock, retryMs);
    const welcomed = once(ws, 'message');
    ws.send(JSON.stringify({ type: 'hello', tracker_id: id, announce_url: 'http://127.0.0.1:6969/announce', ws_url: 'ws://127.0.0.1:6969/ws', sessions: [] }));
    await welcomed;
    return t;
  }

  join(sid: string): void {
    this.held.add(sid);
    this.report({ type: 'join', id: randomUUID(), sid, ip: '10.0.0.9', port: 6881, at: this.clock.now() });
  }

  get unacked(): number {
    return this.outbox.size;
  }

  /** Resolves when the control server has answered a ping: every frame it sent before is here. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve);
      this.ws.ping();
    });
  }

  async close(): Promise<void> {
    for (const e of this.outbox.values()) e.timer.cancel();
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, 'close');
    this.ws.close();
    await closed;
  }

  private report(msg: Report): void {
    const send = (): void => {
      if (!this.outbox.has(msg.id)) return;
      this.ws.send(JSON.stringify(msg));
      const e = this.outbox.get(msg.id);
      if (e) e.timer = this.clock.setTimeout(send, this.retryMs);
    };
    this.outbox.set(msg.id, { msg, timer: this.clock.setTimeout(send, this.retryMs) });
    this.ws.send(JSON.stringify(msg));
  }
}

export { FakeTracker };
