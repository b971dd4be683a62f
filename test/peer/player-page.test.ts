/**
 * The player page's server side: the page and its files with their security
 * headers, the live status as server-sent events, and the end of a session
 * (the reason reaches open pages and status.json; streams end; the wait for
 * pages is bounded and skipped when none is open).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { get, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { webServerFactory } from '../../src/cli/web-server.js';
import { createPlaybackServer, type PlaybackServer } from '../../src/peer/playback-server.js';
import { playerStatus, type PlaybackEnd } from '../../src/peer/player-status.js';
import { StatusEvents } from '../../src/peer/status-events.js';
import type { ViewerStats } from '../../src/peer/viewer.js';
import { ManualClock } from '../../src/core/clock.js';
import { within } from '../e2e/helpers.js';

const KICK: PlaybackEnd = { kind: 'kicked', reason: 'unpaid <b>bill</b>', message: 'session ended by the operator: unpaid <b>bill</b>' };

function stats(over: Partial<ViewerStats> = {}): ViewerStats {
  return {
    session: 's-1', peers: 4, downBps: 2_000_000, upBps: 1_500_000, bufferS: 1.23, bytesFromSource: 250, bytesFromPeers: 750,
    uploaded: 100, played: 40, missed: 0, gapped: 0, lastGap: null, onTime: 199, late: 1, continuity: 0.995, stalledMs: 120,
    behindLiveMs: 2_345, recentLate: [], startedAt: 1, admittedAt: 2, listedAt: 3, firstByteAt: 4, latencyMs: [], ...over,
  };
}

async function withServer(fn: (base: string, server: PlaybackServer) => Promise<void>, opts: { viewerStats?: () => ViewerStats | null; endLingerMs?: number } = {}): Promise<void> {
  const server = createPlaybackServer({ webServer: webServerFactory(), title: 'News <live> & "more"', status: () => ({ played: 40 }), ...opts });
  const base = await server.listen();
  try {
    await fn(base, server);
  } finally {
    await server.close();
  }
}

/** Reads server-sent events from GET /events until `until` says stop (or the response ends). */
function readEvents(base: string, until: (events: Array<{ event: string; data: unknown }>) => boolean): Promise<{ res: IncomingMessage; events: Array<{ event: string; data: unknown }>; ended: boolean }> {
  return new Promise((resolve, reject) => {
    get(`${base}events`, (res) => {
      const events: Array<{ event: string; data: unknown }> = [];
      let buf = '';
      let done = false;
      const finish = (ended: boolean): void => {
        if (done) return;
        done = true;
        resolve({ res, events, ended });
      };
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
        if (until(events)) finish(false);
      });
      res.on('end', () => finish(true));
    }).on('error', reject);
  });
}

test('the page: strict CSP and security headers, no inline script, the title and stream URL as escaped text', async () => {
  await withServer(async (base) => {
    const res = await fetch(base);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const part of ["default-src 'none'", "script-src 'self'", "media-src 'self' blob:", "connect-src 'self'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(part), `CSP ${csp} lacks ${part}`);
    }
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin');
    const html = await res.text();
    assert.match(html, /News &#60;live&#62; &#38; &#34;more&#34;/);
    assert.doesNotMatch(html, /<live>/);
    // Every script is a file of ours: an inline one would need 'unsafe-inline'.
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1] ?? '');
    assert.ok(scripts.length >= 2);
    for (const attrs of scripts) assert.match(attrs, /\bsrc="(player\.js|vendor\/mpegts\.js)"/);
    assert.match(html, new RegExp(`^mpv ${base}stream\\.ts$`, 'm'));
  });
});

test('the commands name the URL the viewer typed (localhost), and a foreign Host is refused on every path', async () => {
  await withServer(async (base) => {
    const port = new URL(base).port;
    const ask = (path: string, host: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const local = await ask('/', `localhost:${port}`);
    assert.equal(local.status, 200);
    assert.match(local.body, new RegExp(`^mpv http://localhost:${port}/stream\\.ts$`, 'm'));
    for (const path of ['/', '/events', '/player.js', '/vendor/mpegts.js', '/status.json']) {
      assert.equal((await ask(path, `evil.example:${port}`)).status, 421, path);
    }
  });
});

test('the page files: our script and style, mpegts.js as npm ships it, nothing else', async () => {
  await withServer(async (base) => {
    const js = await fetch(`${base}player.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await js.text(), /new EventSource\('events'\)/);
    assert.match((await fetch(`${base}player.css`)).headers.get('content-type') ?? '', /^text\/css/);
    const lib = await fetch(`${base}vendor/mpegts.js`);
    assert.equal(lib.status, 200);
    const shipped = readFileSync(createRequire(import.meta.url).resolve('mpegts.js'));
    assert.ok(Buffer.from(await lib.arrayBuffer()).equals(shipped));
    for (const path of ['vendor/mpegts.js.map', 'index.html', '..%2Fpackage.json', 'src/web/player/player.js']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 404, path);
    }
  });
});

test('events: the figures at once and every second; the end reaches the open page, status.json and the stream', async () => {
  let s: ViewerStats | null = null;
  await withServer(
    async (base, server) => {
      const first = await readEvents(base, (ev) => ev.length >= 1);
      first.res.destroy();
      assert.deepEqual(first.events[0], { event: 'status', data: playerStatus(null, null) });
      s = stats();
      const page = readEvents(base, (ev) => ev.length >= 2);
      const seen = await page;
      assert.deepEqual(seen.events.map((e) => e.event), ['status', 'status'], 'a second push within the interval');
      assert.deepEqual(seen.events[1]?.data, playerStatus(stats(), null));
      seen.res.destroy();

      const open = readEvents(base, () => false);
      await new Promise((r) => setTimeout(r, 100));
      const stream = await new Promise<IncomingMessage>((resolve) => get(`${base}stream.ts`, resolve));
      const streamEnded = new Promise((resolve) => stream.resume().on('end', resolve));
      // The bound is a minute here: end() returning well before it means it waited for the page only.
      await within('end() with a reading page', server.end(KICK));
      const got = await open;
      assert.equal(got.ended, true, 'the events response ends after the end event');
      assert.deepEqual(got.events.at(-1), { event: 'end', data: KICK });
      assert.equal((got.events.at(-2)?.data as { state: string }).state, 'ended');
      await streamEnded;
      const status = (await (await fetch(`${base}status.json`)).json()) as { played: number; end: PlaybackEnd };
      assert.deepEqual(status, { played: 40, end: KICK });
      // A page opened after the end still learns why, and a new stream gets no bytes.
      const late = await readEvents(base, () => false);
      assert.deepEqual(late.events.map((e) => e.event), ['status', 'end']);
      assert.equal((await (await fetch(`${base}stream.ts`)).arrayBuffer()).byteLength, 0);
    },
    { viewerStats: () => s, endLingerMs: 60_000 },
  );
});

test('end() with no page open resolves at once; a page that never takes its end event is waited for at most lingerMs', async () => {
  await withServer(async (_base, server) => within('end() with no page', server.end(KICK)), { endLingerMs: 60_000 });
  const clock = new ManualClock();
  const events = new StatusEvents({ clock, status: () => playerStatus(null, null), lingerMs: 2_000 });
  // A response whose bytes never leave (a stuck socket): neither 'finish' nor 'close' comes.
  const stuck = Object.assign(new EventEmitter(), {
    writes: [] as string[],
    destroyed: false,
    writableEnded: false,
    socket: null,
    writeHead() {
      return this;
    },
    write(chunk: string) {
      this.writes.push(chunk);
      return true;
    },
    end() {
      this.writableEnded = true;
    },
  });
  events.add(stuck as unknown as ServerResponse, {});
  assert.equal(events.open, 1);
  let done = false;
  const finished = events.finish(KICK).then(() => (done = true));
  assert.match(stuck.writes.join(''), /event: end\ndata: .*unpaid/);
  clock.advance(1_999);
  await Promise.resolve();
  assert.equal(done, false, 'still waiting for the page');
  clock.advance(1);
  await finished;
  assert.equal(done, true);
});

test('a page that stops reading its events is dropped once its unsent bytes pass the cap, not kept growing', () => {
  const clock = new ManualClock();
  const events = new StatusEvents({ clock, status: () => playerStatus(stats(), null), intervalMs: 1_000 });
  const emitter = new EventEmitter();
  const page = Object.assign(emitter, {
    writes: 0,
    writableLength: 0,
    destroyed: false,
    writableEnded: false,
    socket: null,
    writeHead() {
      return this;
    },
    write() {
      this.writes++;
      return false;
    },
    end() {
      this.writableEnded = true;
    },
    destroy() {
      this.destroyed = true;
      emitter.emit('close');
    },
  });
  events.add(page as unknown as ServerResponse, {});
  clock.advance(3_000);
  assert.equal(page.destroyed, false, 'a little queued is fine');
  const before = page.writes;
  page.writableLength = 100 * 1024;
  clock.advance(1_000);
  assert.equal(page.destroyed, true);
  assert.equal(page.writes, before, 'nothing more queued for it');
  assert.equal(events.open, 0);
});

test('playerStatus: the share from peers, rounded figures, and the state', () => {
  const s = playerStatus(stats(), null);
  assert.equal(s.state, 'playing');
  assert.equal(s.fromPeersShare, 0.75);
  assert.equal(s.behindLiveS, 2.3);
  assert.equal(s.bufferS, 1.2);
  assert.equal(s.stalledS, 0.1);
  assert.equal(playerStatus(stats({ firstByteAt: null, behindLiveMs: null, bytesFromPeers: 0, bytesFromSource: 0 }), null).state, 'starting');
  assert.equal(playerStatus(stats({ bytesFromPeers: 0, bytesFromSource: 0 }), null).fromPeersShare, null);
  assert.deepEqual(playerStatus(stats(), KICK).end, KICK);
  assert.equal(playerStatus(null, KICK).state, 'ended');
});
