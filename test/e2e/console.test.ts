/**
 * The operator's console in Chromium against a running local system: a wrong
 * password shows its error; signing in shows the program with its viewers;
 * Kick on a row shows every step of the chain A–E, the row leaves and the
 * real `watch` process exits with the kick code; grant and revoke through the
 * console are what `gatecast admin` reports; a hostile user name is text.
 * Screenshots go to test-output/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import { hashPassword } from '../../src/control/passwords.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { runCli, waitFor } from './helpers.js';

const OUT = join(process.cwd(), 'test-output');
const XSS_NAME = '<img src=x onerror=alert(1)>';

let sys: LocalSystem;
let browser: Browser;
let page: Page;
let tmp: string;
const dialogs: string[] = [];

before(async () => {
  mkdirSync(OUT, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'gatecast-console-'));
  const db = join(tmp, 'control.db');
  sys = await startLocalSystem({ adminPassword: 'console-admin', db, heartbeatTimeoutMs: 3_000 });
  await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 1_000_000 }, { title: 'Channel One' });
  for (const name of ['alice', 'bob', 'carol']) await sys.viewer(name, 'ch1', { http: false });
  // A name the API refuses (letters, digits, _ . - only), as a database edited by hand or an older version could hold.
  const side = SqliteControlStore.open(db);
  await side.createUser({ name: XSS_NAME, passwordHash: await hashPassword('x'), isAdmin: false, createdAt: Date.now() });
  await side.close();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('dialog', (d) => {
    // The console's own "Remove …?" confirmations are answered yes; anything else (an injected alert) is recorded.
    if (d.type() === 'confirm' && d.message().startsWith('Remove ')) {
      void d.accept();
      return;
    }
    dialogs.push(d.message());
    void d.dismiss();
  });
});

after(async () => {
  await browser?.close();
  await sys?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function newSourceKey(): string {
  return rawPublicKey(generateKeyPairSync('ed25519').privateKey);
}

async function signIn(password: string): Promise<void> {
  await page.fill('#sign-in input[name=name]', 'admin');
  await page.fill('#sign-in input[name=password]', password);
  await page.click('#sign-in button[type=submit]');
}

function admin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['admin', '--control', sys.controlUrl, ...args], { env: { GATECAST_ADMIN_PASSWORD: sys.adminPassword }, timeoutMs: 30_000 });
}

test('a wrong password shows a clear error and signs nobody in', { timeout: 120_000 }, async () => {
  await page.goto(`${sys.controlUrl}/console/`);
  await page.waitForSelector('#sign-in:not([hidden])');
  await signIn('not-the-password');
  const error = page.locator('#sign-in-error');
  await error.filter({ hasText: 'wrong admin user name or password' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#nav').isHidden(), true);
});

test('signing in shows the program with its viewers now and their share from peers', { timeout: 120_000 }, async () => {
  await signIn(sys.adminPassword);
  await page.waitForSelector('#nav:not([hidden])');
  const card = page.locator('.card[data-program=ch1]');
  await card.waitFor({ timeout: 10_000 });
  await waitFor(
    'the overview to show 3 viewers and some share from peers',
    async () => {
      const viewers = Number(await card.locator('[data-figure=viewers] dd').textContent());
      const share = parseFloat((await card.locator('[data-figure=share] dd').textContent()) ?? '');
      return viewers >= 3 && share > 0;
    },
    45_000,
  );
  assert.match((await card.locator('h3').textContent()) ?? '', /Channel One/);
  assert.equal(await page.locator('#live').textContent(), 'live', 'fed by the server-sent events of /v1/console/events');
  assert.equal(await card.locator('svg.chart polyline').count(), 2);
  await waitFor('a few minutes of chart (three points)', async () => ((await card.locator('svg.chart polyline.viewers').getAttribute('points')) ?? '').split(' ').length >= 3, 20_000);
  await page.screenshot({ path: join(OUT, 'console-overview.png'), fullPage: true });
});

test('Kick on a row shows every step of A–E, the row leaves, and the watch process exits with the kick code', { timeout: 120_000 }, async (t) => {
  await sys.admin.addUser('dave', 'pw-dave');
  await sys.admin.grant('dave', 'ch1', null);
  const run = runCli(['watch', '--control', sys.controlUrl, '--user', 'dave', '--password', 'pw-dave', '--no-http', 'ch1'], { timeoutMs: 90_000 });
  const session = await waitFor('dave joined', async () => (await sys.admin.listSessions()).find((s) => s.user === 'dave' && s.state === 'joined'), 40_000);

  await page.click('nav button[data-view=sessions]');
  const rows = page.locator('#view tbody tr');
  await waitFor('the sessions of alice, bob, carol and dave', async () => (await rows.count()) >= 5, 15_000);
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    assert.ok((await page.locator('#view td.user', { hasText: name }).count()) >= 1, `${name} is listed`);
  }
  const row = page.locator(`tr[data-session="${session.id}"]`);
  await row.locator('button.kick').click();
  await page.fill('#kick-box input[name=reason]', 'console kick');
  const clickedAt = Date.now();
  await page.click('#kick-box .confirm-kick');
  // Watched together: the complete timeline stays on screen for a moment only, before the row leaves.
  await Promise.all(['command_sent', 'tracker_ack', 'client_stopped', 'control_ack'].map((event) => row.locator(`li[data-event=${event}]`).waitFor({ timeout: 10_000 })));
  await page.screenshot({ path: join(OUT, 'console-kick-timeline.png'), fullPage: true });
  await row.waitFor({ state: 'detached', timeout: 10_000 });
  const leftMs = Date.now() - clickedAt;
  t.diagnostic(`row left ${leftMs} ms after the kick was confirmed`);
  assert.ok(leftMs <= 3_000, `the row left ${leftMs} ms after the kick`);
  const res = await run;
  assert.equal(res.code, 4, res.stderr);
  assert.match(res.stderr, /ended by the operator: console kick/);
  const d = (await sys.admin.listDisconnects()).find((x) => x.session === session.id);
  assert.equal(d?.state, 'completed');
  assert.equal(d?.reason, 'console kick');
  t.diagnostic(`chain: ${(d?.timeline ?? []).map((e) => `${e.event} +${e.ms} ms`).join(', ')}`);
});

test('grant and revoke through the console change what gatecast admin reports', { timeout: 120_000 }, async () => {
  await sys.admin.addUser('erin', 'pw-erin');
  await page.click('nav button[data-view=subscriptions]');
  const grant = page.locator('form.grant');
  await grant.waitFor();
  await grant.locator('input[name=user]').fill('erin');
  await grant.locator('input[name=program]').fill('ch1');
  await grant.locator('button[type=submit]').click();
  const row = page.locator('tr[data-user=erin][data-program=ch1]');
  await row.waitFor({ timeout: 10_000 });
  const granted = await admin(['subscriptions', '--json']);
  assert.equal(granted.code, 0, granted.stderr);
  assert.ok((JSON.parse(granted.stdout) as { user: string; program: string }[]).some((s) => s.user === 'erin' && s.program === 'ch1'));

  await row.locator('button.revoke').click();
  await row.waitFor({ state: 'detached', timeout: 10_000 });
  const revoked = await admin(['subscriptions', '--json']);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.ok(!(JSON.parse(revoked.stdout) as { user: string }[]).some((s) => s.user === 'erin'));

  // An error from the API is shown as its message: grant to a program that does not exist.
  await grant.locator('input[name=user]').fill('erin');
  await grant.locator('input[name=program]').fill('no-such-program');
  await grant.locator('button[type=submit]').click();
  await grant.locator('.error', { hasText: 'no such program: no-such-program' }).waitFor({ timeout: 10_000 });
});

test('users and programs through the console: add, set password and limit, remove; a program with its public source key', { timeout: 120_000 }, async () => {
  await page.click('nav button[data-view=users]');
  const add = page.locator('form.add-user');
  await add.waitFor();
  await add.locator('input[name=name]').fill('gina');
  await add.locator('input[name=password]').fill('pw-gina');
  await add.locator('input[name=max_sessions]').fill('2');
  await add.locator('button[type=submit]').click();
  const row = page.locator('tr[data-user=gina]');
  await row.waitFor({ timeout: 10_000 });
  assert.equal((await sys.admin.listUsers()).find((u) => u.name === 'gina')?.max_sessions, 2);
  await row.locator('input[placeholder=max]').fill('3');
  await row.locator('button', { hasText: 'Set max' }).click();
  await waitFor('limit 3', async () => (await sys.admin.listUsers()).find((u) => u.name === 'gina')?.max_sessions === 3, 10_000);
  // The console redraws the table once the change is saved: typing into the old row's field would be lost with it.
  await page.locator('tr[data-user=gina] td:nth-child(3)', { hasText: /^3$/ }).waitFor({ timeout: 10_000 });
  await page.locator('tr[data-user=gina] input[type=password]').fill('pw-gina-2');
  await page.locator('tr[data-user=gina] button', { hasText: 'Set password' }).click();
  const login = (password: string) =>
    fetch(`${sys.controlUrl}/v1/devices`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'gina', password }) }).then((r) => r.status);
  await waitFor('the new password logs gina in', async () => (await login('pw-gina-2')) === 201, 10_000);
  assert.equal(await login('pw-gina'), 401, 'the old password no longer does');
  await page.locator('tr[data-user=gina] button', { hasText: 'Remove' }).click();
  await page.locator('tr[data-user=gina]').waitFor({ state: 'detached', timeout: 10_000 });
  assert.equal((await sys.admin.listUsers()).some((u) => u.name === 'gina'), false);

  await page.click('nav button[data-view=programs]');
  const addProgram = page.locator('form.add-program');
  await addProgram.waitFor();
  const key = newSourceKey();
  await addProgram.locator('input[name=id]').fill('ch2');
  await addProgram.locator('input[name=title]').fill('Channel Two');
  await addProgram.locator('input[name=bitrate]').fill('1500000');
  await addProgram.locator('input[name=source_key]').fill(key);
  await addProgram.locator('button[type=submit]').click();
  const program = page.locator('tr[data-program=ch2]');
  await program.waitFor({ timeout: 10_000 });
  assert.equal(await program.locator('code[title]').getAttribute('title'), key);
  const listed = await admin(['programs', 'list', '--json']);
  const ch2 = (JSON.parse(listed.stdout) as { id: string; source_key: string; bitrate_bps: number; title: string }[]).find((p) => p.id === 'ch2');
  assert.deepEqual([ch2?.title, ch2?.bitrate_bps, ch2?.source_key], ['Channel Two', 1_500_000, key]);
});

test('a user named like markup is shown as those characters, and nothing runs', { timeout: 120_000 }, async () => {
  await page.click('nav button[data-view=users]');
  const cell = page.locator('#view td.name', { hasText: XSS_NAME });
  await cell.waitFor({ timeout: 10_000 });
  assert.equal(await cell.textContent(), XSS_NAME);
  assert.equal(await page.locator('#view img').count(), 0);
  assert.deepEqual(dialogs, []);
});

test('the disconnect history shows the kick with its timeline; sign-out returns to the sign-in form', { timeout: 120_000 }, async () => {
  await page.click('nav button[data-view=disconnects]');
  const row = page.locator('#view tbody tr', { hasText: 'console kick' });
  await row.waitFor({ timeout: 10_000 });
  assert.match((await row.textContent()) ?? '', /control_ack/);
  await page.click('#sign-out');
  await page.waitForSelector('#sign-in:not([hidden])');
  const status = await page.evaluate(async () => (await fetch('/v1/admin/users')).status);
  assert.equal(status, 401);
});
