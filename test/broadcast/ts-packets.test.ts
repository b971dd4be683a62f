import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packetPid, parsePat, parsePmtVideoPid, payloadOffset, randomAccessIndicator } from '../../src/broadcast/ts-packets.js';
import { AUDIO_PID, PMT_PID, VIDEO_PID, pat, pesData, pesStart, pmt } from './ts-builder.js';

test('PAT and PMT give the PMT PID and the first video PID', () => {
  assert.equal(parsePat(pat(0x1234)), 0x1234);
  assert.equal(parsePmtVideoPid(pmt(PMT_PID, [{ type: 0x0f, pid: AUDIO_PID }, { type: 0x1b, pid: VIDEO_PID }])), VIDEO_PID);
  assert.equal(parsePmtVideoPid(pmt(PMT_PID, [{ type: 0x0f, pid: AUDIO_PID }])), null);
  assert.equal(packetPid(pmt(PMT_PID, [])), PMT_PID);
});

test('packet fields: payload offset and random access indicator', () => {
  assert.equal(payloadOffset(pesData(VIDEO_PID)), 4);
  assert.equal(payloadOffset(pesStart(VIDEO_PID, true)), 6);
  assert.ok(randomAccessIndicator(pesStart(VIDEO_PID, true)));
  assert.ok(!randomAccessIndicator(pesStart(VIDEO_PID, false)));
});

test('malformed tables give null, never throw', () => {
  const notStart = Buffer.from(pat(0x100));
  notStart[1] = notStart[1]! & ~0x40;
  assert.equal(parsePat(notStart), null);
  const wrongTable = Buffer.from(pat(0x100));
  wrongTable[5] = 0x42;
  assert.equal(parsePat(wrongTable), null);
  const tooLong = Buffer.from(pat(0x100));
  tooLong[6] = 0xbf;
  tooLong[7] = 0xff;
  assert.equal(parsePat(tooLong), null);
  const hugePointer = Buffer.from(pat(0x100));
  hugePointer[4] = 250;
  assert.equal(parsePat(hugePointer), null);
  const noPayload = Buffer.from(pat(0x100));
  noPayload[3] = 0x20; // adaptation field only
  noPayload[4] = 183;
  assert.equal(parsePat(noPayload), null);
  const badAdaptation = Buffer.from(pesStart(VIDEO_PID, true));
  badAdaptation[4] = 200;
  assert.equal(payloadOffset(badAdaptation), null);
  const pmtBadEsLength = pmt(PMT_PID, [{ type: 0x0f, pid: AUDIO_PID }, { type: 0x1b, pid: VIDEO_PID }]);
  pmtBadEsLength[5 + 12 + 3] = 0xff; // first ES info length runs past the section
  pmtBadEsLength[5 + 12 + 4] = 0xff;
  assert.equal(parsePmtVideoPid(pmtBadEsLength), null);
  for (let seed = 0; seed < 2000; seed++) {
    const junk = Buffer.alloc(188, (seed * 37) & 0xff);
    junk[0] = 0x47;
    junk[1] = 0x40;
    junk[3] = seed & 0xff;
    junk[4] = (seed >> 3) & 0xff;
    parsePat(junk);
    parsePmtVideoPid(junk);
    randomAccessIndicator(junk);
  }
});
