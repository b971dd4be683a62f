/**
 * The extension protocols (BEP 10) a wire speaks, by name, in the shape of
 * bittorrent-protocol's `use(Extension)`: our ids (an extension's is its
 * place in the order of use, from 1), the ids the remote chose in its
 * extended handshake's `m`, and the routing of a message id to its extension.
 */
import { isBDict, type BDict, type BEncodable } from './wire-bencode.js';

/** The BEP 3 handshake as received (wire.ts parses it; extensions see it). */
export interface Handshake {
  infoHash: Buffer;
  peerId: Buffer;
  reserved: Buffer;
  /** The BEP 10 bit (reserved[5] & 0x10). */
  extended: boolean;
}

export interface WireExtension {
  /** Its name in the extended handshakes' `m`. */
  readonly name: string;
  /** The remote's BEP 3 handshake arrived. */
  onHandshake?(handshake: Handshake): void;
  /** The remote's extended handshake arrived (its `m` is read already: the wire's remoteSupports() answers). */
  onExtendedHandshake?(dict: BDict): void;
  /** A message of this extension from the remote. A ProtocolError thrown here is the wire's error. */
  onMessage(payload: Buffer): void;
}

export class WireExtensions {
  private readonly list: WireExtension[] = [];
  /** The ids the remote asked us to use, by extension name. */
  private readonly remoteIds = new Map<string, number>();

  get all(): readonly WireExtension[] {
    return this.list;
  }

  use(ext: WireExtension): number {
    if (this.list.some((e) => e.name === ext.name)) throw new RangeError(`extension ${ext.name} is in use already`);
    if (this.list.length >= 255) throw new RangeError('no extension id left');
    this.list.push(ext);
    return this.list.length;
  }

  /** The extension a message with our id `extId` is for, if any. */
  local(extId: number): WireExtension | undefined {
    return this.list[extId - 1];
  }

  remoteId(name: string): number | undefined {
    return this.remoteIds.get(name);
  }

  /** Our extended handshake's dict with every extension in use named in its `m`. */
  withOurIds(dict: BEncodable): BEncodable {
    if (this.list.length === 0) return dict;
    const d = asDict(dict);
    const ids: Record<string, number> = {};
    this.list.forEach((e, i) => (ids[e.name] = i + 1));
    return { ...d, m: { ...asDict(d['m']), ...ids } };
  }

  /** The remote's `m`: well-formed entries are kept (an extension checks its own strictly); id 0 turns one off. */
  readRemoteIds(dict: BDict): void {
    const m = dict['m'];
    if (!isBDict(m)) return;
    for (const ext of this.list) {
      const id = m[ext.name];
      if (typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= 255) this.remoteIds.set(ext.name, id);
      else if (id !== undefined) this.remoteIds.delete(ext.name);
    }
  }
}

function asDict(v: BEncodable | undefined): { [key: string]: BEncodable | undefined } {
  if (v === undefined || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return {};
  return v;
}
