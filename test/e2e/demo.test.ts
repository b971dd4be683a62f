/**
 * `npm start` (`gatecast demo`): the JSON line names the console first, with
 * the admin's credentials, and each viewer's player page and stream; the
 * console and the player page answer there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

interface DemoLine {
  console: string;
  control: string;
  admin: { user: string; password: string };
  viewers: Array<{ user: string; play: string; page: string }>;
}

test('the demo prints the console URL with the admin credentials and each viewer page, and they answer', { timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, ['bin/gatecast.js', 'demo', '--viewers', '1', '--duration', '60', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GATECAST_ADMIN_PASSWORD: 'demo-test-admin' },
  });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  try {
    const lines = createInterface({ input: child.stdout });
    const [first] = (await Promise.race([
      once(lines, 'line'),
      once(child, 'exit').then(() => assert.fail(`demo exited: ${stderr.join('')}`)),
    ])) as [string];
    const line = JSON.parse(first) as DemoLine;
    assert.equal(line.console, `${line.control}/console/`);
    assert.deepEqual(line.admin, { user: 'admin', password: 'demo-test-admin' });
    assert.match(stderr.join('').split('\n')[0] ?? '', /^console: +http:\/\/127\.0\.0\.1:\d+\/console\/ +\(sign in as "admin", password "demo-test-admin"\)$/);
    const consolePage = await fetch(line.console);
    assert.equal(consolePage.status, 200);
    assert.match(consolePage.headers.get('content-type') ?? '', /text\/html/);
    const viewer = line.viewers[0];
    assert.ok(viewer);
    assert.equal(viewer.page + 'stream.ts', viewer.play);
    const page = await fetch(viewer.page);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<video/);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
});
