/**
 * What every fuzz target shares: the target shape the test and the long
 * runner both drive, the "value or the typed error" check, byte mutations of
 * valid inputs, and the slowest-input record that stands in for a hang check
 * (a synchronous parser that looped would never return at all; one that is
 * merely pathological shows up here).
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';

export interface CheckOptions {
  seed: number;
  numRuns: number;
  /** fast-check's counterexample path: with the seed, replays one failing input. */
  path?: string;
}

export interface CheckOutcome {
  failed: boolean;
  numRuns: number;
  seed: number;
  path: string | null;
  counterexample: string | null;
  error: string | null;
}

export interface FuzzRun {
  check(opts: CheckOptions): Promise<CheckOutcome>;
  close(): Promise<void>;
}

export interface FuzzTarget {
  name: string;
  /** One line for docs/FUZZING.md and `npm run fuzz -- --list`. */
  checks: string;
  /** Inputs the seeded run in `npm test` takes. */
  testRuns: number;
  open(): Promise<FuzzRun>;
}

/** Runs a property under fast-check and flattens its verdict. */
export async function checkProperty<Ts>(property: fc.IRawProperty<Ts>, opts: CheckOptions): Promise<CheckOutcome> {
  const d = await fc.check(property, { seed: opts.seed, numRuns: opts.numRuns, path: opts.path, endOnFailure: false });
  const err = d.errorInstance;
  return {
    failed: d.failed,
    numRuns: d.numRuns,
    seed: d.seed,
    path: d.counterexamplePath,
    counterexample: d.counterexample === null ? null : fc.stringify(d.counterexample).slice(0, 4000),
    error: err === null || err === undefined ? null : err instanceof Error ? (err.stack ?? err.message) : String(err),
  };
}

/** A target whose property needs nothing started. */
export function pureRun<Ts>(property: fc.IRawProperty<Ts>): FuzzRun {
  return { check: (opts) => checkProperty(property, opts), close: async () => {} };
}

/** Thrown by a property when a parser broke its contract. */
export class ContractBroken extends Error {
  override readonly name = 'ContractBroken';
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The contract of every parser: it returns a value (handed to `check`) or
 * throws `allowed` with a message. Anything else (a TypeError, a RangeError, a
 * stack overflow) breaks it.
 */
export function valueOrTypedError<T>(parse: () => T, allowed: ErrorClass, check: (value: T) => void, accept?: (err: Error) => boolean): void {
  let value: T;
  try {
    value = parse();
  } catch (err) {
    if (err instanceof allowed && err.message.length > 0 && (accept?.(err) ?? true)) return;
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new ContractBroken(`expected a value or ${allowed.name}, got ${what}`, { cause: err });
  }
  check(value);
}

export function expect(cond: boolean, message: string): asserts cond {
  if (!cond) throw new ContractBroken(message);
}

/** The slowest single input since the last reset, for the runner's report. */
export const slowest = { ms: 0 };

export function timed<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    const t0 = performance.now();
    const r = fn(...args);
    const ms = performance.now() - t0;
    if (ms > slowest.ms) slowest.ms = ms;
    return r;
  };
}

export function timedAsync<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    const t0 = performance.now();
    const r = await fn(...args);
    const ms = performance.now() - t0;
    if (ms > slowest.ms) slowest.ms = ms;
    return r;
  };
}

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'truncate'; at: number }
  | { op: 'repeat'; at: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(0, 0x30, 0x3a, 0x65, 0x69, 0x6c, 0x64, 0x47, 0xff), fc.nat(255)) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
);

function apply(buf: Buffer, m: Mutation): Buffer {
  if (buf.length === 0) return m.op === 'insert' ? Buffer.from(m.bytes) : buf;
  const at = m.at % buf.length;
  switch (m.op) {
    case 'flip': {
      const out = Buffer.from(buf);
      out[at] = (out[at] as number) ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      const out = Buffer.from(buf);
      out[at] = m.byte;
      return out;
    }
    case 'insert':
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    case 'delete':
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.n)]);
    case 'truncate':
      return buf.subarray(0, at);
    case 'repeat':
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at, at + m.n), buf.subarray(at)]);
  }
}

/** Valid bytes from `valid`, then a few random flips, sets, inserts, deletes, truncations or repeats. */
export function mutated(valid: fc.Arbitrary<Buffer>, maxMutations = 4): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: maxMutations }))
    .map(([buf, ms]) => ms.reduce(apply, buf));
}

/** Raw bytes, valid ones, and mutated valid ones. */
export function bytesAround(valid: fc.Arbitrary<Buffer>, maxRaw = 256): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: maxRaw }).map((u) => Buffer.from(u)), weight: 2 },
    { arbitrary: valid, weight: 1 },
    { arbitrary: mutated(valid), weight: 4 },
  );
}

/** Cuts `buf` into chunks at the given (sorted, deduplicated) offsets. */
export function chunksOf(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (buf.length === 0 ? 0 : c % (buf.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, buf.length]) {
    if (c > prev) out.push(buf.subarray(prev, c));
    prev = Math.max(prev, c);
  }
  return out;
}
