/**
 * /docs in Debian's Chromium: Swagger UI renders every operation of the
 * control API's OpenAPI document, and the page asks nothing of any other
 * origin (no fonts, no validator badge, no CDN), with no CSP violation and
 * no script error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DOCS_PREFIX, OPENAPI_PATH } from '../../src/control/openapi.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { startServer, type Harness } from './helpers.js';

describe('control server: /docs in Chromium', () => {
  let h: Harness;
  let base: string;
  let browser: Browser;
  before(async () => {
    h = await startServer({ expiryCheckMs: null });
    base = await h.server.listen(0);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
    await h.close();
  });

  it('renders every operation from the server alone', { timeout: 120_000 }, async () => {
    const doc = (await (await fetch(`${base}${OPENAPI_PATH}`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);

    const page = await browser.context.newPage();
    const requested: string[] = [];
    const problems: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    const res = await page.goto(`${base}${DOCS_PREFIX}/`, { waitUntil: 'load', timeout: 60_000 });
    assert.equal(res?.status(), 200);
    await page.waitForFunction((n) => document.querySelectorAll('.opblock').length >= n, operations, { timeout: 60_000 });
    assert.equal(await page.locator('.opblock').count(), operations);
    assert.match((await page.locator('.info .title').textContent()) ?? '', /gatecast control server/);
    // Expanding an operation renders its schema, still from the document already loaded.
    await page.locator('.opblock-summary').first().click();
    await page.waitForSelector('.opblock-body', { timeout: 30_000 });

    const origin = new URL(base).origin;
    const elsewhere = requested.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin);
    assert.deepEqual(elsewhere, [], 'every request goes to the control server');
    assert.ok(requested.some((u) => u.endsWith(`${DOCS_PREFIX}/json`)), 'the UI loaded the document from the server');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
