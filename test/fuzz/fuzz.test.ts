/**
 * The fuzz targets (test/fuzz/targets.ts) with a fixed seed and a bounded
 * count: every parser that takes outside bytes answers a well-typed value or
 * its typed error on the same few thousand generated inputs each run. Long
 * runs: `npm run fuzz` (docs/FUZZING.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TARGETS } from './targets.js';

const SEED = 20261129;

for (const target of TARGETS) {
  test(`fuzz ${target.name}: ${target.testRuns} inputs (seed ${SEED}) parse or fail with the typed error`, { timeout: 120_000 }, async () => {
    const run = await target.open();
    try {
      const out = await run.check({ seed: SEED, numRuns: target.testRuns });
      assert.equal(
        out.failed,
        false,
        `${target.name} broke its contract: ${out.error ?? ''}\ncounterexample: ${out.counterexample ?? ''}\nreplay: npm run fuzz -- --target ${target.name} --seed ${out.seed} --path ${out.path ?? ''}`,
      );
      assert.equal(out.numRuns, target.testRuns);
    } finally {
      await run.close();
    }
  });
}
