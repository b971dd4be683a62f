/**
 * The server side of a swarm bench in the main process: control server,
 * tracker and broadcaster from startLocalSystem, plus the bench's users.
 */
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import type { Broadcaster } from '../../src/broadcast/broadcaster.js';
import { sleep } from './stats.js';

export const PROGRAM = 'bench';

export interface BenchSystem {
  sys: LocalSystem;
  broadcaster: Broadcaster;
  program: string;
  stop(): Promise<void>;
}

export async function startBenchSystem(opts: { bitrateBps: number; sourceCap: number | null }): Promise<BenchSystem> {
  const sys = await startLocalSystem({ adminPassword: 'bench-admin' });
  await sys.addProgram({ id: PROGRAM, title: 'bench test pattern', bitrate_bps: opts.bitrateBps });
  const broadcaster = await sys.broadcast(PROGRAM, { kind: 'test-pattern', bitrateBps: opts.bitrateBps }, { uploadRate: opts.sourceCap });
  // A couple of seconds of stream so the first viewer finds a live edge.
  await sleep(2_000);
  return { sys, broadcaster, program: PROGRAM, stop: () => sys.stop() };
}

/** Creates users subscribed to the program, a few at a time (each is a scrypt hash on the control server). */
export async function createUsers(sys: LocalSystem, program: string, names: string[]): Promise<Array<{ user: string; password: string }>> {
  const out: Array<{ user: string; password: string }> = [];
  const batch = 8;
  for (let i = 0; i < names.length; i += batch) {
    const part = names.slice(i, i + batch);
    await Promise.all(
      part.map(async (user) => {
        const password = `pw-${user}`;
        await sys.admin.addUser(user, password);
        await sys.admin.grant(user, program, null);
        out.push({ user, password });
      }),
    );
  }
  out.sort((a, b) => names.indexOf(a.user) - names.indexOf(b.user));
  return out;
}
