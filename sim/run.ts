/**
 * `npm run sim -- --viewers N [--scenario steady|flash-crowd|churn]
 * [--duration S] [--seed K] [--links wan|loopback] [--json]`: the real peer
 * engine for every viewer and the source, in virtual time over modelled
 * links (sim/simulation.ts). Prints the bench's figures, or its JSON.
 */
import { CommanderError } from 'commander';
import { parseSimArgs } from './args.js';
import { summaryLines } from './report.js';
import { simulate } from './simulation.js';

async function main(): Promise<void> {
  let args;
  try {
    args = parseSimArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
  const result = await simulate(args, (p) => {
    process.stderr.write(`t=${p.virtualS} s  wall ${p.wallS} s  events ${p.events}  viewers ${p.viewers} (${p.playing} playing)  rss ${p.rssMb} MB\n`);
  });
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${summaryLines(result).join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
