/**
 * Steps a–f end to end on ephemeral ports: a subscribed user plays real video;
 * every kind of refusal is specific, exits non-zero and never reaches the tracker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { fileSink } from '../../src/peer/playback-sinks.js';
import { decodeStats } from '../helpers/ffmpeg.js';
import { runCli, waitFor } from './helpers.js';

let sys: LocalSystem;
let dir: string;
let infoHash: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatecast-e2e-'));
  sys = await startLocalSystem({ adminPassword: 'e2e-admin' });
  const b = await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 }, { title: 'Channel 1' });
  infoHash = b.metadata.info_hash;
  await sys.addProgram({ id: 'ch2', title: 'Channel 2' });
  await sys.admin.addUser('bob', 'pw-bob');
  await sys.admin.addUser('carol', 'pw-carol');
  await sys.admin.grant('carol', 'ch1', '2020-01-01T00:00:00Z');
});

after(async () => {
  await sys.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a subscribed user watches: 5 s of its output decode with no errors and at least 100 frames', async () => {
  const out = join(dir, 'alice.ts');
  const { viewer } = await sys.viewer('alice', 'ch1', { sinks: [fileSink(out)], http: false });
  // 2 Mbit/s: 7 s of stream is about 1.75 MB.
  await waitFor('7 s of output', () => (statSync(out, { throwIfNoEntry: false })?.size ?? 0) > 1_750_000, 30_000);
  const { frames, errors } = await decodeStats(out, 5);
  assert.equal(errors, '', 'no decode errors');
  assert.ok(frames >= 100, `decoded ${frames} frames in 5 s`);
  assert.equal(viewer.stats().missed, 0);
});

const refusals: Array<{ name: string; args: string[]; code: string; pattern: RegExp }> = [
  { name: 'wrong password', args: ['--user', 'alice', '--password', 'nope', 'ch1'], code: 'invalid_credentials', pattern: /password/i },
  { name: 'unknown user', args: ['--user', 'nobody', '--password', 'x', 'ch1'], code: 'invalid_credentials', pattern: /password/i },
  { name: 'no subscription', args: ['--user', 'bob', '--password', 'pw-bob', 'ch1'], code: 'not_subscribed', pattern: /subscri/i },
  { name: 'expired subscription', args: ['--user', 'carol', '--password', 'pw-carol', 'ch1'], code: 'not_subscribed', pattern: /expired/i },
  { name: 'unknown program', args: ['--user', 'alice', '--password', 'pw-alice', 'nosuch'], code: 'unknown_program', pattern: /no such program/i },
];

for (const r of refusals) {
  test(`refused: ${r.name} gives ${r.code}, a non-zero exit, and never reaches the tracker`, async () => {
    const before = (await sys.tracker.peers(infoHash)).length;
    const sessionsBefore = (await sys.admin.listSessions({ all: true })).length;
    const res = await runCli(['watch', '--control', sys.controlUrl, ...r.args, '--no-http']);
    assert.equal(res.code, 3, `exit code (stderr: ${res.stderr})`);
    assert.match(res.stderr, new RegExp(`\\(${r.code}\\)`));
    assert.match(res.stderr, r.pattern);
    assert.equal((await sys.tracker.peers(infoHash)).length, before, 'no new peer at the tracker');
    assert.equal((await sys.admin.listSessions({ all: true })).length, sessionsBefore, 'no session was opened');
  });
}
