/**
 * Cross-instance kicks for the cluster bench: sessions whose tracker channel
 * is on tracker T (linked to control server A) are kicked through control
 * server B, which does not hold T's link, one at a time. Each client is the
 * real TrackerClient, cooperative: it answers the disconnect with `stopped`,
 * as a viewer does (step C), without a swarm behind it. Removal is kick
 * command → the session's ended_at as the control servers record it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AdminClient } from '../../src/cli/control-client.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { TrackerClient } from '../../src/peer/tracker-client.js';
import { requestProgram } from '../../src/protocol/control-api.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { percentile, round, sleep } from './stats.js';

export interface CrossKickFigures {
  kicks: number;
  removal_ms: { p50: number | null; p99: number | null; max: number | null };
  /** Kick command → the client heard the disconnect (the command crossed to the other instance and its tracker). */
  reached_client_ms: { p50: number | null; p99: number | null };
  not_removed: number;
}

export interface CrossKickSpec {
  /** Admits the sessions (any control server: they share the database). */
  admitUrl: string;
  /** The tracker the clients' channels are on, and its id as the control servers know it (host:port). */
  trackerWs: string;
  trackerId: string;
  program: string;
  users: Array<{ user: string; password: string }>;
  /** The admin API of the control server that does NOT hold the tracker's link: the kicks enter here. */
  kickVia: AdminClient;
  giveUpMs?: number;
}

export async function crossInstanceKicks(s: CrossKickSpec): Promise<CrossKickFigures> {
  const clients: Array<{ sid: string; client: TrackerClient; heard: Promise<number> }> = [];
  try {
    for (const u of s.users) {
      const pair = generateKeyPairSync('ed25519');
      const a = await requestProgram(s.admitUrl, { program: s.program, user: u.user, password: u.password, clientKey: rawPublicKey(pair.publicKey) });
      const client = new TrackerClient({
        wsUrl: s.trackerWs,
        infoHash: a.metadata.info_hash,
        peerId: randomBytes(20).toString('hex'),
        port: 6881,
        token: () => a.token,
        sid: a.session,
        clientKey: pair.privateKey,
        clock: systemClock,
      });
      client.on('warning', () => undefined);
      client.on('lost', () => undefined);
      const heard = new Promise<number>((resolve) =>
        client.once('disconnect', (d) => {
          resolve(Date.now());
          void client.stopped(d.id).catch(() => undefined);
        }),
      );
      await client.start();
      clients.push({ sid: a.session, client, heard });
    }
    // Every session joined on the tracker, as the kicking control server sees it.
    const giveUp = Date.now() + (s.giveUpMs ?? 30_000);
    for (;;) {
      const joined = new Set((await s.kickVia.listSessions()).filter((x) => x.state === 'joined' && x.tracker === s.trackerId).map((x) => x.id));
      if (clients.every((c) => joined.has(c.sid))) break;
      if (Date.now() > giveUp) throw new Error(`sessions not reported joined on ${s.trackerId} within ${s.giveUpMs ?? 30_000} ms`);
      await sleep(200);
    }
    const removal: number[] = [];
    const reached: number[] = [];
    let notRemoved = 0;
    for (const c of clients) {
      const t0 = Date.now();
      await s.kickVia.kick({ session: c.sid }, 'cluster bench');
      const heardAt = await Promise.race([c.heard, sleep(s.giveUpMs ?? 30_000).then(() => null)]);
      if (heardAt !== null) reached.push(heardAt - t0);
      let endedAt: number | null = null;
      const until = Date.now() + (s.giveUpMs ?? 30_000);
      while (endedAt === null && Date.now() < until) {
        const row = (await s.kickVia.listSessions({ all: true })).find((x) => x.id === c.sid);
        if (row?.ended_at) endedAt = Date.parse(row.ended_at);
        else await sleep(50);
      }
      if (endedAt === null) notRemoved++;
      else removal.push(endedAt - t0);
    }
    const r = (v: number): number | null => round(v, 1);
    return {
      kicks: clients.length,
      removal_ms: { p50: r(percentile(removal, 50)), p99: r(percentile(removal, 99)), max: removal.length ? r(Math.max(...removal)) : null },
      reached_client_ms: { p50: r(percentile(reached, 50)), p99: r(percentile(reached, 99)) },
      not_removed: notRemoved,
    };
  } finally {
    for (const c of clients) c.client.close();
  }
}
