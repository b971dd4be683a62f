/**
 * Child process: WebSocket announce load on gatecast's tracker channel. One
 * channel per session, each sending its next announce as soon as the previous
 * answer came back, for a fixed time. Prints nothing; sends {ok, errors,
 * seconds} over IPC.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

interface Job {
  wsUrl: string;
  entries: Array<{ infoHash: string; token: string }>;
  durationS: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
let ok = 0;
let errors = 0;
let firstError: string | null = null;

async function channel(entry: { infoHash: string; token: string }, until: number): Promise<void> {
  const ws = new WebSocket(job.wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const peerId = randomBytes(20).toString('hex');
  let n = 0;
  await new Promise<void>((resolve) => {
    const next = (): void => {
      if (Date.now() >= until) return resolve();
      ws.send(JSON.stringify({ type: 'announce', id: String(++n), token: entry.token, info_hash: entry.infoHash, peer_id: peerId, port: 6881, numwant: 30 }));
    };
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string; message?: string };
      if (msg.type === 'peers') ok++;
      else if (msg.type === 'error') {
        errors++;
        firstError ??= msg.message ?? 'error';
      } else return; // pushes (revoked, disconnect) are not answers
      next();
    });
    ws.once('close', () => resolve());
    next();
  });
  ws.close();
}

const start = Date.now();
const until = start + job.durationS * 1000;
await Promise.all(job.entries.map((e) => channel(e, until).catch((err: unknown) => {
  errors++;
  firstError ??= String(err);
})));
process.send?.({ ok, errors, firstError, seconds: (Date.now() - start) / 1000 }, () => process.exit(0));
