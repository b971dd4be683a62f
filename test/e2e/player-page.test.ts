/**
 * The viewer's player page in a real browser (issue 10's acceptance): a real
 * `gatecast watch` process serves its playback URL; Debian's Chromium opens
 * the page, whose <video> plays the live stream through mpegts.js (its
 * currentTime advances by 3 s or more within 10 s, with no media error and
 * with sound; in a browser that wants a click first, muted until one click on
 * the page's button); the operator kicks the viewer, and every open page says
 * why while the process exits with its kick code. Screenshots go to test-output/.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { controlRequest } from '../../src/protocol/control-api.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { waitFor, within } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatecast.js', import.meta.url));
const OUT = fileURLToPath(new URL('../../test-output/', import.meta.url));
const REASON = 'player page test: <b>payment</b> failed';

let sys: LocalSystem | null = null;
let watch: ChildProcess | null = null;
let browser: Browser | null = null;
let strict: Browser | null = null;
after(async () => {
  await browser?.close();
  await strict?.close();
  if (watch && watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL');
  await sys?.stop();
});

interface VideoState {
  currentTime: number;
  error: number | null;
  muted: boolean;
  paused: boolean;
}

test('the player page plays the live stream in Chromium and says why after a kick', { timeout: 240_000 }, async (t) => {
  const s = await startLocalSystem({ adminPassword: 'player-admin' });
  sys = s;
  await s.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 1_000_000 });
  // A second viewer, so the page's viewer has a peer to trade with.
  await s.viewer('other', 'ch1', { http: false });
  await s.admin.addUser('pat', 'pw-pat');
  await s.admin.grant('pat', 'ch1', null);

  const proc = spawn(process.execPath, [BIN, 'watch', '--control', s.controlUrl, '--user', 'pat', '--password', 'pw-pat', '--quiet', 'ch1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  watch = proc;
  let log = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = once(proc, 'exit') as Promise<[number | null, string | null]>;
  const base = await waitFor(
    'the playback URL',
    () => {
      if (proc.exitCode !== null) assert.fail(`watch exited: ${log}`);
      return /^playback URL: (\S+)\/stream\.ts/m.exec(log)?.[1] ?? null;
    },
    60_000,
  );

  browser = await launchBrowser({ extraArgs: ['--autoplay-policy=no-user-gesture-required'], viewport: { width: 1100, height: 900 } });
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  // Before the page's own scripts: any Content-Security-Policy violation is recorded.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(`${base}/`);
  const video = (): Promise<VideoState> =>
    page.evaluate(() => {
      const v = document.querySelector('video');
      if (!v) throw new Error('no video element');
      return { currentTime: v.currentTime, error: v.error?.code ?? null, muted: v.muted, paused: v.paused };
    });

  // Startup (the swarm's preroll, mpegts.js's first segment) is not the figure: playback is, once it runs.
  const start = await waitFor('the video to start playing', async () => {
    const v = await video();
    assert.equal(v.error, null, `media error ${v.error}; ${problems.join('; ')}`);
    return v.currentTime > 0 ? { ...v, at: Date.now() } : null;
  }, 90_000);
  let last = start;
  try {
    await waitFor('currentTime to advance by 3 s', async () => {
      last = { ...(await video()), at: Date.now() };
      assert.equal(last.error, null, `media error ${last.error}`);
      return last.currentTime - start.currentTime >= 3;
    }, 10_000);
  } catch (err) {
    assert.fail(`${(err as Error).message}: from ${start.currentTime} s to ${last.currentTime} s in ${last.at - start.at} ms; ${problems.join('; ')}`);
  }
  t.diagnostic(`currentTime ${start.currentTime.toFixed(2)} → ${last.currentTime.toFixed(2)} s in ${last.at - start.at} ms of wall time`);
  assert.equal(last.muted, false, 'plays with sound where the browser allows autoplay');
  assert.equal(last.paused, false);
  await page.waitForFunction(() => /^peers \d+$/.test(document.getElementById('s-peers')?.textContent ?? ''), undefined, { timeout: 10_000 });
  const overlay = await page.locator('#overlay').innerText();
  assert.match(overlay, /continuity \d+\.\d%/);
  assert.match(overlay, /behind live \d+\.\d s/);
  assert.match(await page.locator('#cmds').innerText(), new RegExp(`^vlc ${base}/stream\\.ts$`, 'm'));
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: `${OUT}player.png` });

  // A browser that wants a click before sound: the page plays muted and one click on its button turns the sound on.
  strict = await launchBrowser({ extraArgs: ['--autoplay-policy=document-user-activation-required'], viewport: { width: 1100, height: 900 } });
  const quiet = await strict.context.newPage();
  await quiet.goto(`${base}/`);
  await quiet.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5, undefined, { timeout: 60_000 });
  assert.equal(await quiet.evaluate(() => document.querySelector('video')?.muted), true);
  await quiet.locator('#unmute').click({ timeout: 10_000 });
  assert.equal(await quiet.evaluate(() => document.querySelector('video')?.muted), false);
  assert.equal(await quiet.locator('#unmute').isVisible(), false);
  assert.equal(await quiet.evaluate(() => document.querySelector('video')?.paused), false);

  await controlRequest(s.controlUrl, '/v1/admin/kick', { method: 'POST', body: { user: 'pat', reason: REASON }, basic: { user: 'admin', password: s.adminPassword } });
  await page.waitForFunction(() => document.body.dataset['state'] === 'ended', undefined, { timeout: 15_000 });
  // The reason is shown as the characters it is, never as markup.
  assert.equal(await page.locator('#end').innerText(), `session ended by the operator: ${REASON}`);
  assert.equal(await page.locator('#end b').count(), 0);
  await page.screenshot({ path: `${OUT}player-ended.png` });
  // Every open page learns why, not only the first.
  await quiet.waitForFunction(() => document.body.dataset['state'] === 'ended', undefined, { timeout: 15_000 });
  assert.equal(await quiet.locator('#end').innerText(), `session ended by the operator: ${REASON}`);
  const [code] = await within('watch to exit', exited, 15_000);
  assert.equal(code, 4, log);
  // The stream's own end (the kick) may show as a network error; nothing else may.
  assert.deepEqual(problems.filter((p) => !/^console: .*(stream\.ts|net::ERR_)/.test(p) || /CSP violation/.test(p)), [], 'no script errors, failed loads or CSP violations');
});
