/**
 * Lightweight clients for the disconnect-chain tests: a real admission and a
 * real tracker channel, without a swarm, so hundreds fit in one test.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import type { MessageFaults } from '../../src/core/faults.js';
import { requestProgram } from '../../src/protocol/control-api.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { TrackerClient } from '../../src/peer/tracker-client.js';

export interface ChainClient {
  sid: string;
  tracker: TrackerClient;
  /** Disconnect messages this client answered with `stopped`. */
  answered: string[];
}

/** Admits one session and joins the tracker; `obey` false makes a client that ignores disconnects. */
export async function chainClient(
  controlUrl: string,
  creds: { user: string; password: string; program: string },
  opts: { faults?: MessageFaults; obey?: boolean; port: number },
): Promise<ChainClient> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const admission = await requestProgram(controlUrl, { ...creds, clientKey: rawPublicKey(publicKey) });
  const md = admission.metadata;
  const tracker = new TrackerClient({
    wsUrl: md.tracker.ws,
    infoHash: md.info_hash,
    peerId: randomBytes(20).toString('hex'),
    port: opts.port,
    token: () => admission.token,
    sid: admission.session,
    clientKey: privateKey,
    clock: systemClock,
    faults: opts.faults,
    replyTimeoutMs: 400,
    stoppedRetryMs: 150,
    stoppedGiveUpMs: 6_000,
  });
  const client: ChainClient = { sid: admission.session, tracker, answered: [] };
  if (opts.obey !== false) {
    tracker.on('disconnect', ({ id }) => {
      client.answered.push(id);
      void tracker.stopped(id);
    });
  }
  // Announces can be lost too: retry on the same channel until one is answered.
  for (let attempt = 0; ; attempt++) {
    try {
      await tracker.start();
      return client;
    } catch (err) {
      if (attempt >= 30) throw err;
    }
  }
}
