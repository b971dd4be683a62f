/**
 * Program metadata (step b): what an admitted client parses to join the swarm
 * (step c). The info hash is derived from the program id and its source key,
 * so it is stable for a program and changes if the program is re-created.
 */
import { createHash } from 'node:crypto';
import { pieceLength } from '../core/piece.js';
import { InternalError } from '../core/errors.js';
import type { Program, ProgramMetadata, TrackerEndpoint } from '../core/types.js';
import type { TrackerInfo } from './tracker-registry.js';

export function programInfoHash(program: Pick<Program, 'id' | 'sourcePublicKey'>): string {
  return createHash('sha1').update(`gatecast-live:${program.id}:${program.sourcePublicKey}`).digest('hex');
}

/** The tracker's announce URL with this session's token added to its query. */
export function announceUrlWithToken(announceUrl: string, token: string): string {
  try {
    const url = new URL(announceUrl);
    url.searchParams.set('token', token);
    return url.toString();
  } catch {
    // A tracker announced something URL() can't parse; keep it and append as BEP 3 clients would.
    return `${announceUrl}${announceUrl.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  }
}

export function dataSize(program: Pick<Program, 'lengthS' | 'bitrateBps'>): number | null {
  return program.lengthS === null ? null : Math.ceil((program.lengthS * program.bitrateBps) / 8);
}

/**
 * Step b's metadata. `trackers` is every connected tracker, the one this
 * client should use first at the head (admission.ts spreads clients by
 * rotating the list); never empty.
 */
export function buildMetadata(program: Program, trackers: readonly TrackerInfo[], token: string, controlKey: string): ProgramMetadata {
  const endpoints: TrackerEndpoint[] = trackers.map((t) => ({ announce: announceUrlWithToken(t.announceUrl, token), ws: t.wsUrl }));
  const first = endpoints[0];
  if (!first) throw new InternalError('program metadata needs at least one tracker');
  return {
    program: program.id,
    title: program.title,
    info_hash: programInfoHash(program),
    tracker: first,
    trackers: endpoints,
    // One tier: the trackers share the swarm, so BEP 12 lets a stock client use any of them and move on within the tier.
    announce_list: [endpoints.map((e) => e.announce)],
    length_s: program.lengthS,
    data_size: dataSize(program),
    bitrate_bps: program.bitrateBps,
    piece_length: pieceLength(program.packetsPerPiece),
    packets_per_piece: program.packetsPerPiece,
    source_key: program.sourcePublicKey,
    control_key: controlKey,
  };
}
