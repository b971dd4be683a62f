/**
 * What a viewer and the source do alike once admitted: keep the session's
 * token renewed, open the swarm on a listening port, and prepare the tracker
 * channel that will announce it (the caller starts it).
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { ClientTrust } from '../core/ports.js';
import { DEFAULTS } from '../core/config.js';
import { InternalError } from '../core/errors.js';
import { ControlOutage } from '../core/outage.js';
import { ed25519PublicKey, pieceIntervalMs } from '../core/piece.js';
import type { TokenRole } from '../core/token.js';
import type { AdmissionResult } from '../core/types.js';
import { renewToken } from '../protocol/control-api.js';
import { createTokenVerifier, outageTolerant } from '../protocol/token.js';
import { ControlSession } from './control-session.js';
import { signedPieceCheck } from './piece-check.js';
import { Swarm, type SwarmOptions } from './swarm.js';
import { TcpTransport } from './tcp-transport.js';
import { TrackerClient } from './tracker-client.js';

export interface JoinOptions {
  controlUrl: string;
  admission: AdmissionResult;
  /** The session's client key (private): signs peer proofs and renewals. */
  clientKey: KeyObject;
  role: TokenRole;
  peerId: Buffer;
  clock: Clock;
  host: string;
  peerPort: number;
  /** Defaults to the metadata's nominal interval. */
  pieceIntervalMs?: () => number;
  /** How many peers to ask the tracker for (the source asks for none). */
  numwant?: number;
  swarm: Pick<SwarmOptions, 'maxPeers' | 'uploadSlots' | 'uploadRate' | 'sourceTier' | 'log'>;
  /** Which control server and tracker certificates to trust (renewals, tracker channel); Node's defaults when absent. */
  trust?: ClientTrust;
}

export interface JoinedSwarm {
  session: ControlSession;
  swarm: Swarm;
  tracker: TrackerClient;
}

export async function joinSwarm(opts: JoinOptions): Promise<JoinedSwarm> {
  const { admission, clock } = opts;
  const md = admission.metadata;
  // Whether our control server is reachable, as our renewals find it: while it is not, peers' tokens that were
  // valid at our last contact are honored past their expiry (core/outage.ts).
  const outage = new ControlOutage(clock);
  const session = new ControlSession(admission.session, admission.token, admission.token_expires_at, {
    clientKey: opts.clientKey,
    clock,
    outage,
    renew: (sid, ts, sig) => renewToken(opts.controlUrl, sid, ts, sig, opts.trust),
  });
  const nominal = pieceIntervalMs(md);
  const infoHash = Buffer.from(md.info_hash, 'hex');
  const sourceKey = ed25519PublicKey(md.source_key);
  const transport = new TcpTransport({
    host: opts.host,
    port: opts.peerPort,
    infoHash,
    program: md.program,
    peerId: opts.peerId,
    role: opts.role,
    token: () => session.token,
    clientKey: opts.clientKey,
    verifier: outageTolerant(await createTokenVerifier(md.control_key), outage),
    outage,
    clock,
  });
  const swarm = new Swarm({
    ...opts.swarm,
    sid: admission.session,
    role: opts.role,
    clock,
    transport,
    checkPiece: signedPieceCheck(infoHash, sourceKey),
    pieceLength: md.piece_length,
    pieceIntervalMs: opts.pieceIntervalMs ?? (() => nominal),
    windowCapacity: Math.ceil((DEFAULTS.windowS * 1000) / nominal),
  });
  // A renewed token goes to every connected peer, which would otherwise close at the old expiry.
  session.on('renewed', (token) => swarm.tokenRenewed(token));
  await swarm.start();
  const port = transport.port;
  if (port === null) throw new InternalError('the peer transport is not listening');
  const tracker = new TrackerClient({
    wsUrl: md.tracker.ws,
    // Where to move when the channel is lost (absent from control servers before issue 12: then the one tracker).
    otherUrls: (md.trackers ?? []).map((t) => t.ws),
    infoHash: md.info_hash,
    peerId: opts.peerId.toString('hex'),
    port,
    token: () => session.token,
    sid: admission.session,
    clientKey: opts.clientKey,
    clock,
    ca: opts.trust?.ca,
    ...(opts.numwant === undefined ? {} : { numwant: opts.numwant }),
  });
  // From the first `peers` answer on (before the caller wires anything): revocations it lists are refused.
  tracker.on('revoked', ({ sid }) => swarm.revoke(sid));
  return { session, swarm, tracker };
}
