/**
 * Child process: WebSocket announce load on gatecast's tracker channel. One
 * channel per session, each sending its next announce as soon as the previous
 * answer came back, for a fixed time. Prints nothing; sends {ok, errors,
 * seconds} over IPC.
 */
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import WebSocket from 'ws';
import { channelProofMessage } from '../../src/protocol/tracker-channel.js';

/** `key`: the session's client key, PKCS#8 DER base64url; every announce signs the channel's nonce with it. */
interface Entry {
  infoHash: string;
  token: string;
  sid: string;
  key: string;
}

interface Job {
  wsUrl: string;
  entries: Entry[];
  durationS: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
let ok = 0;
let errors = 0;
let firstError: string | null = null;

async function channel(entry: Entry, until: number): Promise<void> {
  const ws = new WebSocket(job.wsUrl);
  const key = createPrivateKey({ key: Buffer.from(entry.key, 'base64url'), format: 'der', type: 'pkcs8' });
  // The first frame is the tracker's challenge.
  const nonce = await new Promise<string>((resolve, reject) => {
    ws.once('message', (data) => resolve((JSON.parse(String(data)) as { nonce: string }).nonce));
    ws.once('error', reject);
  });
  const peerId = randomBytes(20).toString('hex');
  let n = 0;
  // Ed25519 is deterministic: the same nonce and fields give the same proof, so a client signs once per channel.
  const proof = sign(null, channelProofMessage({ nonce, sid: entry.sid, infoHash: entry.infoHash, peerId, port: 6881 }), key).toString('base64url');
  await new Promise<void>((resolve) => {
    const next = (): void => {
      if (Date.now() >= until) return resolve();
      ws.send(JSON.stringify({ type: 'announce', id: String(++n), token: entry.token, info_hash: entry.infoHash, peer_id: peerId, port: 6881, numwant: 30, proof }));
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
