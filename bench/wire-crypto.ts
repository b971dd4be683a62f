/**
 * What the encrypted peer channel costs: CPU per MB of piece traffic over a
 * loopback TCP connection, plain and inside the Noise/secretstream channel
 * (peer/secure-channel.ts). Both ends run in this process, so the figure is
 * sender + receiver together, as one byte costs the swarm (one peer encrypts
 * it, another decrypts it).
 *
 *   node --import tsx bench/wire-crypto.ts [--mb 200] [--frame 65536]
 */
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { noiseKeyPair, openSecureChannel, type PeerSocket } from '../src/peer/secure-channel.js';
import { systemClock } from '../src/protocol/system-clock.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const totalBytes = arg('mb', 200) * 1024 * 1024;
const frameBytes = arg('frame', 64 * 1024);

async function loopback(): Promise<{ a: net.Socket; b: net.Socket; close: () => Promise<void> }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const a = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [b] = (await accepted) as [net.Socket];
  a.setNoDelay(true);
  b.setNoDelay(true);
  return { a, b, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Sends `totalBytes` in `frameBytes` writes, honouring backpressure; resolves when all arrived. */
async function transfer(tx: PeerSocket, rx: PeerSocket): Promise<void> {
  const frame = Buffer.alloc(frameBytes, 0xab);
  let received = 0;
  const done = new Promise<void>((resolve) => {
    rx.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= totalBytes) resolve();
    });
  });
  let drained: (() => void) | null = null;
  tx.on('drain', () => drained?.());
  let sent = 0;
  while (sent < totalBytes) {
    const ok = tx.write(frame);
    sent += frame.length;
    if (!ok) await new Promise<void>((resolve) => (drained = resolve));
  }
  await done;
}

interface Run {
  mode: string;
  mb: number;
  wallS: number;
  cpuS: number;
  cpuMsPerMb: number;
  mbPerCpuS: number;
}

async function run(mode: 'plain' | 'noise'): Promise<Run> {
  const { a, b, close } = await loopback();
  let tx: PeerSocket = a;
  let rx: PeerSocket = b;
  if (mode === 'noise') {
    const [ca, cb] = await Promise.all([
      openSecureChannel(a, { initiator: true, keyPair: noiseKeyPair(generateKeyPairSync('ed25519').privateKey), clock: systemClock, timeoutMs: 5_000 }),
      openSecureChannel(b, { initiator: false, keyPair: noiseKeyPair(generateKeyPairSync('ed25519').privateKey), clock: systemClock, timeoutMs: 5_000 }),
    ]);
    tx = ca.stream;
    rx = cb.stream;
  }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await transfer(tx, rx);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  a.destroy();
  b.destroy();
  await close();
  const mb = totalBytes / (1024 * 1024);
  return { mode, mb, wallS: round(wallS), cpuS: round(cpuS), cpuMsPerMb: round((cpuS * 1000) / mb), mbPerCpuS: round(mb / cpuS) };
}

/** CPU per channel set-up: `n` Noise XX handshakes (both ends) over fresh loopback connections. */
async function handshakes(n: number): Promise<number> {
  const key = (): ReturnType<typeof noiseKeyPair> => noiseKeyPair(generateKeyPairSync('ed25519').privateKey);
  const keys = Array.from({ length: n }, () => [key(), key()] as const);
  const cpu0 = process.cpuUsage();
  for (const [ka, kb] of keys) {
    const { a, b, close } = await loopback();
    await Promise.all([
      openSecureChannel(a, { initiator: true, keyPair: ka, clock: systemClock, timeoutMs: 5_000 }),
      openSecureChannel(b, { initiator: false, keyPair: kb, clock: systemClock, timeoutMs: 5_000 }),
    ]);
    a.destroy();
    b.destroy();
    await close();
  }
  const cpu = process.cpuUsage(cpu0);
  return round((cpu.user + cpu.system) / 1000 / n);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// Each path measured twice, alternating; the best of each is reported (the machine is shared).
process.stdout.write(`wire-crypto: ${totalBytes / 1048576} MB in ${frameBytes}-byte writes, loopback, node ${process.version}\n`);
const runs: Run[] = [];
for (const mode of ['plain', 'noise', 'plain', 'noise'] as const) runs.push(await run(mode));
for (const r of runs) process.stdout.write(`${JSON.stringify(r)}\n`);
const best = (m: string): number => Math.min(...runs.filter((r) => r.mode === m).map((r) => r.cpuMsPerMb));
const plain = best('plain');
const noise = best('noise');
process.stdout.write(
  `CPU per MB (sender + receiver): plain ${plain} ms, noise ${noise} ms, encryption adds ${round(noise - plain)} ms/MB (${round(noise / plain)}×)\n`,
);
const plainSetup = await handshakesPlain(200);
const noiseSetup = await handshakes(200);
process.stdout.write(`CPU per connection set-up (both ends, incl. TCP): plain ${plainSetup} ms, with the Noise XX handshake ${noiseSetup} ms\n`);

async function handshakesPlain(n: number): Promise<number> {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const { a, b, close } = await loopback();
    a.destroy();
    b.destroy();
    await close();
  }
  const cpu = process.cpuUsage(cpu0);
  return round((cpu.user + cpu.system) / 1000 / n);
}
