/**
 * Long fuzz runs: `npm run fuzz -- --target NAME|all --runs N [--seed S]
 * [--batch B]`, or `--seed S --path P` to replay one failing input. Runs in
 * batches of B inputs (batch i uses seed S+i), printing inputs/s, the
 * slowest single input and the peak RSS; a failure prints the seed and path
 * that replay it. Exit code 1 when any target broke its contract.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { slowest, type FuzzTarget } from './harness.js';
import { TARGETS, targetNamed } from './targets.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'all' },
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    path: { type: 'string' },
    batch: { type: 'string', default: '20000' },
    list: { type: 'boolean', default: false },
  },
});

if (values.list) {
  for (const t of TARGETS) console.log(`${t.name.padEnd(16)} ${t.checks}`);
  process.exit(0);
}

function int(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    console.error(`--${what} must be an integer, got ${text}`);
    process.exit(2);
  }
  return n;
}

const runs = int(values.runs, 'runs');
const batch = Math.max(1, int(values.batch, 'batch'));
const baseSeed = values.seed === undefined ? Date.now() % 0x7fffffff : int(values.seed, 'seed');
const chosen: FuzzTarget[] = values.target === 'all' ? [...TARGETS] : [targetNamed(values.target)].filter((t): t is FuzzTarget => t !== undefined);
if (chosen.length === 0) {
  console.error(`unknown target "${values.target}"; one of: all, ${TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}

let peakRss = 0;
const noteRss = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;

async function fuzz(target: FuzzTarget): Promise<boolean> {
  const run = await target.open();
  slowest.ms = 0;
  peakRss = 0;
  const t0 = performance.now();
  let done = 0;
  let ok = true;
  try {
    if (values.path !== undefined) {
      const out = await run.check({ seed: baseSeed, numRuns: runs, path: values.path });
      console.log(out.failed ? `${target.name}: replayed failure\n${out.error ?? ''}\ninput: ${out.counterexample ?? ''}` : `${target.name}: replay passed`);
      return !out.failed;
    }
    for (let i = 0; done < runs; i++) {
      const seed = (baseSeed + i) | 0;
      const n = Math.min(batch, runs - done);
      const out = await run.check({ seed, numRuns: n });
      done += out.numRuns;
      noteRss();
      const s = (performance.now() - t0) / 1000;
      if (out.failed) {
        ok = false;
        console.log(`${target.name}: FAILURE after ${done} inputs\n${out.error ?? ''}\ninput: ${out.counterexample ?? ''}`);
        console.log(`replay: npm run fuzz -- --target ${target.name} --seed ${out.seed} --path ${out.path ?? ''}`);
        break;
      }
      console.log(`${target.name}: ${done}/${runs} inputs, ${s.toFixed(1)} s, ${Math.round(done / s)} inputs/s, slowest input ${slowest.ms.toFixed(1)} ms, rss ${mb(process.memoryUsage().rss)}`);
    }
  } finally {
    await run.close();
  }
  const s = (performance.now() - t0) / 1000;
  console.log(
    `SUMMARY ${target.name}: ${done} inputs, ${ok ? 0 : 1} failures, ${s.toFixed(1)} s, ${Math.round(done / s)} inputs/s, slowest input ${slowest.ms.toFixed(1)} ms, peak rss ${mb(peakRss)}, seeds ${baseSeed}..${(baseSeed + Math.ceil(done / batch) - 1) | 0} (batch ${batch})`,
  );
  return ok;
}

let allOk = true;
console.log(`fuzz: seed ${baseSeed}, ${runs} inputs per target, node ${process.version}`);
for (const t of chosen) allOk = (await fuzz(t)) && allOk;
process.exit(allOk ? 0 : 1);
