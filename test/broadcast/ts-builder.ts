/** Hand-built MPEG-TS packets for segmenter tests. CRCs are left zero: the segmenter doesn't check them. */
const SIZE = 188;

function packet(pid: number, pusi: boolean, payload: number[], adaptation: number[] | null = null, cc = 0): Buffer {
  const p = Buffer.alloc(SIZE, 0xff);
  p[0] = 0x47;
  p[1] = (pusi ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  p[2] = pid & 0xff;
  let pos = 4;
  if (adaptation) {
    p[3] = 0x30 | (cc & 0x0f);
    p[4] = adaptation.length;
    Buffer.from(adaptation).copy(p, 5);
    pos = 5 + adaptation.length;
  } else {
    p[3] = 0x10 | (cc & 0x0f);
  }
  Buffer.from(payload).copy(p, pos);
  return p;
}

export function pat(pmtPid: number): Buffer {
  // pointer, table_id 0, section_length 13, tsid 1, version/current, section 0/0, program 1 → pmtPid, CRC.
  return packet(0, true, [0, 0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xe0 | (pmtPid >> 8), pmtPid & 0xff, 0, 0, 0, 0]);
}

export function pmt(pmtPid: number, streams: { type: number; pid: number }[]): Buffer {
  const es: number[] = [];
  for (const s of streams) es.push(s.type, 0xe0 | (s.pid >> 8), s.pid & 0xff, 0xf0, 0);
  const sectionLength = 9 + es.length + 4;
  const pcrPid = streams[0]?.pid ?? 0x1fff;
  return packet(pmtPid, true, [0, 0x02, 0xb0, sectionLength, 0, 1, 0xc1, 0, 0, 0xe0 | (pcrPid >> 8), pcrPid & 0xff, 0xf0, 0, ...es, 0, 0, 0, 0]);
}

/** A PES start packet; `keyframe` sets the adaptation field's random_access_indicator. */
export function pesStart(pid: number, keyframe: boolean): Buffer {
  return packet(pid, true, [0, 0, 1, 0xe0], keyframe ? [0x40] : null);
}

/** A PES continuation packet, tagged with `tag` so tests can tell packets apart. */
export function pesData(pid: number, tag = 0): Buffer {
  return packet(pid, false, [tag & 0xff, (tag >> 8) & 0xff]);
}

export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;

/** PAT + PMT (H.264 video, AAC audio) as ffmpeg writes them before a keyframe. */
export function tables(videoType = 0x1b): Buffer[] {
  return [pat(PMT_PID), pmt(PMT_PID, [{ type: videoType, pid: VIDEO_PID }, { type: 0x0f, pid: AUDIO_PID }])];
}

export function pidOf(p: Buffer): number {
  return ((p[1]! & 0x1f) << 8) | p[2]!;
}
