/**
 * Program metadata (step b): what an admitted client parses to join the swarm
 * (step c). The info hash is derived from the program id and its source key,
 * so it is stable for a program and changes if the program is re-created.
 */
import { createHash } from 'node:crypto';
import { pieceLength } from '../core/piece.js';
import type { Program, ProgramMetadata } from '../core/types.js';
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

export function buildMetadata(program: Program, tracker: TrackerInfo, token: string, controlKey: string): ProgramMetadata {
  return {
    program: program.id,
    title: program.title,
    info_hash: programInfoHash(program),
    tracker: { announce: announceUrlWithToken(tracker.announceUrl, token), ws: tracker.wsUrl },
    length_s: program.lengthS,
    data_size: dataSize(program),
    bitrate_bps: program.bitrateBps,
    piece_length: pieceLength(program.packetsPerPiece),
    packets_per_piece: program.packetsPerPiece,
    source_key: program.sourcePublicKey,
    control_key: controlKey,
  };
}
