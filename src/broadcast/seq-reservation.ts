/**
 * Where a (re)started source continues its program's sequence space. Pieces
 * are signed by the program's key and named by seq, so a seq must never be
 * signed twice: viewers holding the old piece would refuse the new one and
 * play the wrong bytes. The source reserves seqs ahead in a small durable
 * state (a file next to the source key): before it signs a seq it makes sure
 * a saved reservation covers it, so a restart, however abrupt (kill -9),
 * continues at the saved mark. The gap viewers see is at most one block of
 * never-signed seqs (about a second at the default piece rate), and no clock
 * is involved, so a clock step cannot cause reuse.
 *
 * Without a usable state (lost, unreadable, another program's or another
 * key's), the source starts from the clock floor: tenths of a second since
 * 2025 (defaultFirstSeq), which stays above every seq used as long as the
 * program averaged at most 10 pieces a second (about 2.6 Mbit/s with
 * 174-packet pieces) and the clock never went back. Viewers then see a
 * longer gap, which they ride out as well.
 */
import { defaultFirstSeq } from './live-source.js';

/** What the state file holds: every seq below `reserved` may have been signed for this info hash. */
export interface SeqState {
  infoHash: string;
  reserved: number;
}

/** Durable storage of the reservation; save() returns only once the state survives a crash. */
export interface SeqStateStore {
  /** The saved state, null when there is none; throws when it exists but cannot be read or parsed. */
  load(): SeqState | null;
  save(state: SeqState): void;
}

export type SeqStart = { firstSeq: number; from: 'state' } | { firstSeq: number; from: 'clock'; reason: string };

export interface SeqReservationOptions {
  store: SeqStateStore;
  /** Hex info hash of the program (the seq space is per info hash: a rekeyed program starts a new one). */
  infoHash: string;
  /** Seqs reserved per save (default 8, about 1 s at 2 Mbit/s; the broadcaster sizes it to about 1 s): the most a restart leaves unused. */
  block?: number;
}

const MAX_SEQ = 2 ** 32 - 1;

export class SeqReservation {
  private readonly store: SeqStateStore;
  private readonly infoHash: string;
  private readonly block: number;
  private reserved = 0;
  private saves = 0;

  constructor(opts: SeqReservationOptions) {
    this.store = opts.store;
    this.infoHash = opts.infoHash;
    this.block = opts.block ?? 8;
    if (!Number.isSafeInteger(this.block) || this.block < 2) throw new RangeError(`reservation block must be an integer ≥ 2, got ${this.block}`);
  }

  /**
   * The first seq of this run: the saved reservation when there is one for
   * this program, else the clock floor. Reserves the first block before
   * returning, so the seq is covered before anything is signed with it.
   */
  start(nowMs: number): SeqStart {
    let start: SeqStart;
    let state: SeqState | null = null;
    let problem: string | null = null;
    try {
      state = this.store.load();
    } catch (err) {
      problem = `the sequence state is unreadable (${err instanceof Error ? err.message : String(err)})`;
    }
    if (state && state.infoHash === this.infoHash && validSeq(state.reserved)) {
      start = { firstSeq: state.reserved, from: 'state' };
    } else {
      const reason = problem ?? (state ? 'the sequence state belongs to another key or program' : 'no sequence state saved');
      start = { firstSeq: defaultFirstSeq(nowMs), from: 'clock', reason };
    }
    this.reserved = start.firstSeq;
    this.use(start.firstSeq);
    return start;
  }

  /**
   * Called before `seq` is signed: saves a new reservation when seq comes
   * within half a block of the saved one. Throws when the save fails (the
   * caller must not sign an unreserved seq).
   */
  use(seq: number): void {
    if (seq + this.block / 2 < this.reserved) return;
    const reserved = seq + this.block;
    if (reserved > MAX_SEQ) throw new RangeError(`the program's sequence space is exhausted at ${seq}: rekey it (gatecast admin programs rekey)`);
    this.store.save({ infoHash: this.infoHash, reserved });
    this.reserved = reserved;
    this.saves++;
  }

  /** Every seq below this is (or may be) used; the next run starts here. */
  get reservedUpTo(): number {
    return this.reserved;
  }

  /** How many times the state was saved. */
  get saveCount(): number {
    return this.saves;
  }
}

function validSeq(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_SEQ;
}
