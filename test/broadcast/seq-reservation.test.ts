import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import type { LivePiece } from '../../src/core/piece.js';
import { LiveSource, defaultFirstSeq } from '../../src/broadcast/live-source.js';
import { SeqReservation, type SeqState, type SeqStateStore } from '../../src/broadcast/seq-reservation.js';
import { SeqStateFile, seqStatePath } from '../../src/broadcast/seq-state-file.js';
import { FakeIngest } from './fake-ingest.js';
import { VIDEO_PID, pesData, pesStart, tables } from './ts-builder.js';

const HASH = 'ab'.repeat(20);
const NOW = Date.UTC(2026, 5, 1);

/** A store in memory that can be made to fail, and remembers what was saved. */
class MemoryStore implements SeqStateStore {
  state: SeqState | null = null;
  saved: number[] = [];
  failSave = false;
  failLoad = false;
  load(): SeqState | null {
    if (this.failLoad) throw new Error('disk on fire');
    return this.state;
  }
  save(state: SeqState): void {
    if (this.failSave) throw new Error('no space left on device');
    this.state = { ...state };
    this.saved.push(state.reserved);
  }
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatecast-seq-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a first start begins at the clock floor and reserves a block before any seq is used', () => {
  const store = new MemoryStore();
  const r = new SeqReservation({ store, infoHash: HASH });
  const start = r.start(NOW);
  assert.deepEqual(start, { firstSeq: defaultFirstSeq(NOW), from: 'clock', reason: 'no sequence state saved' });
  assert.equal(store.state?.reserved, start.firstSeq + 8);
  assert.equal(store.state?.infoHash, HASH);
});

test('every seq used is below the saved reservation, saved about once per half block', () => {
  const store = new MemoryStore();
  const r = new SeqReservation({ store, infoHash: HASH });
  const { firstSeq } = r.start(NOW);
  for (let s = firstSeq; s < firstSeq + 100; s++) {
    r.use(s);
    assert.ok((store.state?.reserved ?? 0) > s, `seq ${s} used with ${store.state?.reserved} saved`);
  }
  assert.ok(store.saved.length <= 100 / 4 + 2, `${store.saved.length} saves for 100 seqs`);
  assert.ok(store.saved.length >= 100 / 8, `${store.saved.length} saves for 100 seqs`);
});

test('a restart continues above every seq used, at most a block later, whatever the clock says', () => {
  const store = new MemoryStore();
  const r1 = new SeqReservation({ store, infoHash: HASH });
  const { firstSeq } = r1.start(NOW);
  const last = firstSeq + 37;
  for (let s = firstSeq; s <= last; s++) r1.use(s);
  // kill -9: nothing more is written. Restarts with the clock stepped back an hour, on time, or a day ahead.
  for (const now of [NOW - 3_600_000, NOW + 60_000, NOW + 86_400_000]) {
    const saved = store.state;
    const start = new SeqReservation({ store, infoHash: HASH }).start(now);
    assert.equal(start.from, 'state');
    assert.ok(start.firstSeq > last, `restart at ${start.firstSeq} reuses a seq ≤ ${last}`);
    assert.ok(start.firstSeq - last <= 8, `restart leaves ${start.firstSeq - last - 1} seqs unused`);
    store.state = saved;
  }
});

test("another program's state, or an unreadable one, falls back to the clock floor and says why", () => {
  const store = new MemoryStore();
  store.state = { infoHash: 'cd'.repeat(20), reserved: 5 };
  const other = new SeqReservation({ store, infoHash: HASH }).start(NOW);
  assert.equal(other.from, 'clock');
  assert.equal(other.firstSeq, defaultFirstSeq(NOW));
  assert.match(other.from === 'clock' ? other.reason : '', /another key or program/);
  store.failLoad = true;
  const broken = new SeqReservation({ store, infoHash: HASH }).start(NOW);
  assert.match(broken.from === 'clock' ? broken.reason : '', /unreadable.*disk on fire/);
});

test('a failed save refuses the seq, and the source signs nothing unreserved', async () => {
  const store = new MemoryStore();
  const r = new SeqReservation({ store, infoHash: HASH });
  const { firstSeq } = r.start(NOW);
  store.failSave = true;
  assert.throws(() => r.use(firstSeq + 4), /no space left/);
  assert.equal(r.reservedUpTo, firstSeq + 8);

  const { privateKey } = generateKeyPairSync('ed25519');
  const clock = new ManualClock(NOW);
  const ingest = new FakeIngest();
  const source = new LiveSource({ ingest, packetsPerPiece: 2, infoHash: Buffer.from(HASH, 'hex'), sourceKey: privateKey, clock, firstSeq, reserve: (s) => r.use(s) });
  const pieces: LivePiece[] = [];
  source.on('piece', (p) => pieces.push(p));
  const failed = new Promise<Error>((resolve) => source.once('error', resolve));
  source.start();
  ingest.push(Buffer.concat([...tables(), pesStart(VIDEO_PID, true), ...Array.from({ length: 9 }, (_, i) => pesData(VIDEO_PID, i))]));
  assert.match((await failed).message, /no space left/);
  assert.deepEqual(pieces.map((p) => p.seq), [firstSeq, firstSeq + 1, firstSeq + 2, firstSeq + 3], 'the reserved ones only');
  await source.stop();
});

test('the state file: next to the key, round trip, 0600, refuses what it did not write', () => {
  assert.equal(seqStatePath('/k/source-keys/h_1/ch1.pem'), '/k/source-keys/h_1/ch1.seq.json');
  const path = join(dir, 'ch1.seq.json');
  const file = new SeqStateFile(path);
  assert.equal(file.load(), null, 'none yet');
  file.save({ infoHash: HASH, reserved: 123_456 });
  assert.deepEqual(file.load(), { infoHash: HASH, reserved: 123_456 });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.match(readFileSync(path, 'utf8'), /"saved_at"/);
  writeFileSync(path, '{"version":1,"info_hash":"zz","reserved":-1,"saved_at":""}');
  assert.throws(() => file.load(), /not a sequence state file/);
  writeFileSync(path, '{"reserved": 12');
  assert.throws(() => file.load(), SyntaxError);
  // And a reservation over a torn file starts from the clock, not from garbage.
  assert.equal(new SeqReservation({ store: file, infoHash: HASH }).start(NOW).from, 'clock');
  assert.deepEqual(file.load(), { infoHash: HASH, reserved: defaultFirstSeq(NOW) + 8 });
});
