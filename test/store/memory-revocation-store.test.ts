import { ManualClock } from '../../src/core/clock.js';
import { MemoryRevocationHub } from '../../src/tracker/revocation-memory.js';
import { runRevocationStoreSuite } from './revocation-store-suite.js';

runRevocationStoreSuite('memory', async () => {
  const hub = new MemoryRevocationHub();
  return { clock: new ManualClock(1_700_000_000_000), open: async () => hub.handle(), close: async () => undefined };
});
