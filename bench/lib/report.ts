/** Writes a scenario's outputs: timestamped JSON, a Markdown table and an SVG chart under bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export interface Written {
  json: string;
  md: string;
  svg: string;
}

export function writeResults(scenario: string, result: unknown, markdown: string, svg: string): Written {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const paths = {
    json: join(RESULTS_DIR, `${scenario}-${stamp}.json`),
    md: join(RESULTS_DIR, `${scenario}.md`),
    svg: join(RESULTS_DIR, `${scenario}.svg`),
  };
  writeFileSync(paths.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(paths.md, markdown);
  writeFileSync(paths.svg, svg);
  return paths;
}

/** A Markdown table from rows of cells. */
export function mdTable(header: string[], rows: Array<Array<string | number | null>>): string {
  const cell = (v: string | number | null): string => (v === null ? '–' : String(v));
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** "met" / "missed by X" for a figure against a bound. */
export function verdict(value: number | null, bound: number, kind: 'max' | 'min'): string {
  if (value === null) return 'not measured';
  const ok = kind === 'max' ? value <= bound : value >= bound;
  if (ok) return 'met';
  const by = kind === 'max' ? value - bound : bound - value;
  return `missed by ${Math.round(by * 1000) / 1000}`;
}
