/** Summarizes V8 .cpuprofile files (node --cpu-prof): self time by function and by file. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  files: number;
  total_ms: number;
  /** Share of the wall time the profiled threads were busy (not idle). */
  busy_share: number;
  top_functions: Array<{ fn: string; self_ms: number; share: number }>;
  top_files: Array<{ file: string; self_ms: number; share: number }>;
}

function where(url: string): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  if (path.startsWith('node:')) return path;
  return relative(process.cwd(), path);
}

export function summarizeProfiles(dir: string, top = 15): ProfileSummary | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'));
  } catch {
    return null;
  }
  if (names.length === 0) return null;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const name of names) {
    const prof = JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile;
    const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
    total += (prof.endTime - prof.startTime) / 1000;
    prof.samples.forEach((id, i) => {
      const ms = (prof.timeDeltas[i] ?? 0) / 1000;
      const node = nodes.get(id);
      if (!node) return;
      const f = node.callFrame;
      if (f.functionName === '(idle)') {
        idle += ms;
        return;
      }
      const file = where(f.url);
      const fn = `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
      byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
      byFile.set(file, (byFile.get(file) ?? 0) + ms);
    });
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  const r1 = (v: number): number => Math.round(v * 10) / 10;
  return {
    files: names.length,
    total_ms: r1(total),
    busy_share: total > 0 ? Math.round((busy / total) * 1000) / 1000 : 0,
    top_functions: rank(byFn).map(([fn, ms]) => ({ fn, self_ms: r1(ms), share: Math.round((ms / busy) * 1000) / 1000 })),
    top_files: rank(byFile).map(([file, ms]) => ({ file, self_ms: r1(ms), share: Math.round((ms / busy) * 1000) / 1000 })),
  };
}
