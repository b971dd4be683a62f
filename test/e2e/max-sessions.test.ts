/**
 * Account sharing and the local playback URL, with the real `gatecast watch`:
 * with --max-sessions 1, a second watch by the same user ends the first
 * through the chain (exit code 4, reason printed) and plays itself; and a
 * viewer listening for peers on every interface (--host 0.0.0.0) still serves
 * its playback URL on loopback only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { REASON_OTHER_DEVICE } from '../../src/control/session-limit.js';
import { waitFor, within } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatecast.js', import.meta.url));
let sys: LocalSystem;

before(async () => {
  sys = await startLocalSystem({ adminPassword: 'limit-admin', heartbeatTimeoutMs: 2_000 });
  await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 1_000_000 });
  await sys.admin.addUser('alice', 'pw-alice', 1);
  await sys.admin.grant('alice', 'ch1', null);
});

after(async () => {
  await sys.stop();
});

interface Watch {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

function watch(args: string[]): Watch {
  const child = spawn(process.execPath, [BIN, 'watch', 'ch1', '--control', sys.controlUrl, '--user', 'alice', '-q', ...args], {
    env: { ...process.env, GATECAST_PASSWORD: 'pw-alice' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stderr: () => err, exit };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves true if a TCP connection to host:port opens, false if it is refused. */
async function reachable(host: string, port: number): Promise<boolean> {
  const sock = connect(port, host);
  try {
    return await within(
      `a connection to ${host}:${port}`,
      new Promise<boolean>((resolve) => {
        sock.once('connect', () => resolve(true));
        sock.once('error', () => resolve(false));
      }),
    );
  } finally {
    sock.destroy();
  }
}

test('--max-sessions 1: a second watch ends the first through the chain (exit 4, reason printed) and plays itself', async () => {
  const peerPort = await freePort();
  const first = watch(['--host', '0.0.0.0', '--peer-port', String(peerPort)]);
  let second: Watch | null = null;
  try {
    await waitFor('the first viewer to play', () => /playing: first bytes/.test(first.stderr()), 30_000);
    const playUrl = /playback URL: (http:\/\/\S+)/.exec(first.stderr())?.[1];
    assert.ok(playUrl, first.stderr());
    const play = new URL(playUrl);
    assert.equal(play.hostname, '127.0.0.1', 'the playback URL stays on loopback by default');

    // Peers may dial in on any address; the playback server is not there (127.0.0.2 is loopback too, but not its bind).
    assert.equal(await reachable('127.0.0.2', peerPort), true, 'peer port on every interface');
    assert.equal(await reachable('127.0.0.2', Number(play.port)), false, 'playback port only on 127.0.0.1');
    assert.equal(await reachable('127.0.0.1', Number(play.port)), true);

    second = watch([]);
    const code = await within('the first viewer to exit', first.exit, 30_000);
    assert.equal(code, 4);
    assert.match(first.stderr(), new RegExp(`session ended: ${REASON_OTHER_DEVICE}`));
    const s2 = second;
    await waitFor('the second viewer to play', () => /playing: first bytes/.test(s2.stderr()), 30_000);
    assert.equal(second.child.exitCode, null, 'the second one keeps playing');
    // Ended through the chain: a disconnect with the reason, completed, its session ended.
    const d = await waitFor('the disconnect to complete', async () =>
      (await sys.admin.listDisconnects()).find((x) => x.reason === REASON_OTHER_DEVICE && x.state === 'completed'),
    );
    const sessions = await sys.admin.listSessions({ all: true });
    assert.equal(sessions.find((x) => x.id === d.session)?.state, 'ended');
    assert.equal(sessions.filter((x) => x.user === 'alice' && x.state !== 'ended').length, 1);
  } finally {
    for (const w of [first, second]) {
      if (w && w.child.exitCode === null) {
        w.child.kill('SIGINT');
        await within('a viewer to stop', w.exit, 15_000).catch(() => w.child.kill('SIGKILL'));
      }
    }
  }
});
