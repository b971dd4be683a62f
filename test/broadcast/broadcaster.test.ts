import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import { ClientError } from '../../src/core/errors.js';
import type { LivePiece } from '../../src/core/piece.js';
import type { ProgramMetadata } from '../../src/core/types.js';
import { Broadcaster, type BroadcastSwarm } from '../../src/broadcast/broadcaster.js';
import { LiveSource } from '../../src/broadcast/live-source.js';
import { FakeSession, FakeSwarm, FakeTracker, settle, type Calls } from '../peer/lifecycle-fakes.js';
import { FakeIngest } from './fake-ingest.js';
import { VIDEO_PID, pesData, pesStart, tables } from './ts-builder.js';

const { privateKey } = generateKeyPairSync('ed25519');
const META: ProgramMetadata = {
  program: 'ch1',
  title: 'Channel 1',
  info_hash: '07'.repeat(20),
  tracker: { announce: 'http://127.0.0.1:1/announce', ws: 'ws://127.0.0.1:1/channel' },
  length_s: null,
  data_size: null,
  bitrate_bps: 2_000_000,
  piece_length: 88 + 10 * 188,
  packets_per_piece: 10,
  source_key: 'unused-here',
  control_key: 'unused-here',
};

class SeedingSwarm extends FakeSwarm implements BroadcastSwarm {
  readonly seeded: number[] = [];
  addLocalPiece(piece: LivePiece): void {
    this.seeded.push(piece.seq);
  }
}

function rig(): { clock: ManualClock; calls: Calls; ingest: FakeIngest; tracker: FakeTracker; session: FakeSession; swarm: SeedingSwarm; b: Broadcaster<SeedingSwarm>; errors: Error[] } {
  const clock = new ManualClock();
  const calls: Calls = [];
  const ingest = new FakeIngest();
  const origStop = ingest.stop.bind(ingest);
  ingest.stop = async () => {
    calls.push('ingest.stop');
    await origStop();
  };
  const source = new LiveSource({ ingest, packetsPerPiece: 10, infoHash: Buffer.from(META.info_hash, 'hex'), sourceKey: privateKey, clock, firstSeq: 100 });
  const tracker = new FakeTracker(calls);
  const session = new FakeSession(calls);
  const swarm = new SeedingSwarm(calls);
  const b = new Broadcaster({ metadata: META, swarm, source, seqStart: { firstSeq: 100, from: 'clock', reason: 'test' }, tracker, session, clock });
  const errors: Error[] = [];
  b.on('error', (err) => errors.push(err));
  return { clock, calls, ingest, tracker, session, swarm, b, errors };
}

/** Ten pieces' worth of TS packets, starting at a keyframe. */
function tenPieces(): Buffer {
  return Buffer.concat([...tables(), pesStart(VIDEO_PID, true), ...Array.from({ length: 97 }, (_, i) => pesData(VIDEO_PID, i))]);
}

test('the pieces the source signs are seeded into the swarm, from the first seq of the run', async () => {
  const { ingest, swarm, b, session, errors } = rig();
  await b.begin();
  assert.equal(session.started, 1, 'token renewals run');
  ingest.push(tenPieces());
  await ingest.idle();
  assert.deepEqual(swarm.seeded, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  await b.stop();
  assert.deepEqual(errors, [], 'stopping on our own is no error');
});

test("kicked by the operator: the ingest stops before peers are told, step C answers the disconnect, and 'error' reports it", async () => {
  const { ingest, tracker, swarm, b, calls, errors } = rig();
  await b.begin();
  tracker.emit('disconnect', { id: 'd-7', reason: 'maintenance' });
  await settle();
  assert.deepEqual(calls, ['session.stop', 'ingest.stop', 'swarm.leaveAll:maintenance', 'tracker.stopped:d-7', 'swarm.close']);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ClientError);
  assert.equal(errors[0].code, 'session_ended');
  assert.equal(errors[0].message, 'broadcast ended by the operator: maintenance');
  ingest.push(tenPieces());
  await settle();
  assert.deepEqual(swarm.seeded, [], 'nothing is signed after the kick');
  // The CLI stops on 'error': that finds the broadcast already ended and does nothing twice.
  await b.stop();
  assert.equal(calls.filter((c) => c === 'swarm.close').length, 1);
});

test('a refusal on reconnect ends the broadcast with that error (it used to retry forever)', async () => {
  const { clock, tracker, b, calls, errors } = rig();
  await b.begin();
  const refusal = new ClientError('forbidden', 'token refused');
  tracker.next = () => {
    throw refusal;
  };
  tracker.emit('lost', new Error('closed'));
  clock.advance(DEFAULTS.peer.trackerReconnectMs);
  await settle();
  await settle();
  assert.deepEqual(errors, [refusal]);
  assert.equal(calls.at(-1), 'swarm.close');
  clock.advance(60_000);
  assert.equal(tracker.starts, 2, 'the join, then one refused reconnect');
});

test("a renewal refused ends the broadcast; the ingest ending by itself is 'end', not an error", async () => {
  const r = rig();
  await r.b.begin();
  const refused = new ClientError('session_ended', 'admin session ended');
  r.session.emit('ended', refused);
  await settle();
  assert.deepEqual(r.errors, [refused]);

  const e = rig();
  let ended = 0;
  e.b.on('end', () => ended++);
  await e.b.begin();
  e.ingest.end();
  await settle();
  assert.equal(ended, 1);
  assert.deepEqual(e.errors, []);
  await e.b.stop();
});
