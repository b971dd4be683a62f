/** Every fuzz target the project owns, by name: the seeded test and `npm run fuzz` both run these. */
import type { FuzzTarget } from './harness.js';
import { announceTarget } from './target-announce.js';
import { bencodeTarget } from './target-bencode.js';
import { controlApiTarget } from './target-control-api.js';
import { gcLiveTarget } from './target-gc-live.js';
import { controlLinkTarget, trackerChannelTarget } from './target-json.js';
import { segmenterTarget } from './target-segmenter.js';
import { wireTarget } from './target-wire.js';

export const TARGETS: readonly FuzzTarget[] = [
  wireTarget,
  gcLiveTarget,
  bencodeTarget,
  announceTarget,
  trackerChannelTarget,
  controlLinkTarget,
  controlApiTarget,
  segmenterTarget,
];

export function targetNamed(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
