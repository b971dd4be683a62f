/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for
 * tests: it throws on anything a Prometheus server would refuse or that the
 * format forbids (a malformed line, a bad name, label or value, a TYPE after
 * its samples or twice, a family's samples split apart, a repeated series, a
 * histogram whose buckets shrink or whose +Inf bucket is not its count).
 * prom-client only writes this format; npm's parsers are unmaintained.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string | null;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(raw: string, line: number): number {
  // As Prometheus reads them (Go's ParseFloat): Inf, Infinity and NaN in any case (prom-client writes "Nan").
  if (/^\+?inf(inity)?$/i.test(raw)) return Infinity;
  if (/^-inf(inity)?$/i.test(raw)) return -Infinity;
  if (/^nan$/i.test(raw)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`line ${line}: bad value ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** `{a="x",b="y"}` → labels; the escapes \\, \" and \n only. */
function parseLabels(src: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < src.length) {
    const eq = src.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without '='`);
    const name = src.slice(i, eq).trim();
    if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    if (src[eq + 1] !== '"') throw new Error(`line ${line}: label value not quoted`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      const c = src[j];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = src[j + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`line ${line}: bad escape \\${e ?? ''}`);
        j += 2;
        continue;
      }
      value += c;
      j += 1;
    }
    labels[name] = value;
    i = j + 1;
    if (i < src.length) {
      if (src[i] !== ',') throw new Error(`line ${line}: expected ',' between labels`);
      i += 1;
    }
  }
  return labels;
}

/** The family a sample belongs to: histogram and summary samples carry suffixes. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const e = series.get(key) ?? { buckets: [] };
    series.set(key, e);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      e.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) e.count = s.value;
    else if (s.name === `${f.name}_sum`) e.sum = s.value;
    else throw new Error(`${f.name}: stray sample ${s.name}`);
  }
  for (const [key, e] of series) {
    if (e.count === undefined || e.sum === undefined) throw new Error(`${f.name}${key}: no _count or _sum`);
    let last = -Infinity;
    let lastCount = 0;
    for (const [le, n] of e.buckets) {
      if (le <= last) throw new Error(`${f.name}${key}: buckets out of order`);
      if (n < lastCount) throw new Error(`${f.name}${key}: bucket counts shrink`);
      last = le;
      lastCount = n;
    }
    if (last !== Infinity || lastCount !== e.count) throw new Error(`${f.name}${key}: the +Inf bucket is not the count`);
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the text does not end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: Family | null = null;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name = '', rest = ''] = m;
      if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name ${JSON.stringify(name)}`);
      let f = families.get(name);
      if (f && f.samples.length > 0) throw new Error(`line ${line}: ${kind} for ${name} after its samples`);
      if (!f) {
        if (closed.has(name)) throw new Error(`line ${line}: ${name} split apart`);
        f = { name, type: 'untyped', help: null, samples: [] };
        families.set(name, f);
      }
      if (current && current !== f) closed.add(current.name);
      current = f;
      if (kind === 'TYPE') {
        if (!TYPES.has(rest as MetricType)) throw new Error(`line ${line}: bad type ${JSON.stringify(rest)}`);
        if (f.type !== 'untyped') throw new Error(`line ${line}: second TYPE for ${name}`);
        f.type = rest as MetricType;
      } else {
        if (f.help !== null) throw new Error(`line ${line}: second HELP for ${name}`);
        f.help = rest.replace(/\\(\\|n)/g, (_, e: string) => (e === 'n' ? '\n' : '\\'));
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(raw);
    if (!m) throw new Error(`line ${line}: not a sample: ${JSON.stringify(raw)}`);
    const [, name = '', labelSrc, valueSrc = ''] = m;
    const labels = labelSrc === undefined ? {} : parseLabels(labelSrc, line);
    const value = parseValue(valueSrc, line);
    let f = familyOf(name, families);
    if (!f) {
      if (closed.has(name)) throw new Error(`line ${line}: ${name} split apart`);
      f = { name, type: 'untyped', help: null, samples: [] };
      families.set(name, f);
    }
    if (current && current !== f) {
      closed.add(current.name);
      if (closed.has(f.name)) throw new Error(`line ${line}: ${f.name} split apart`);
    }
    current = f;
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(series)) throw new Error(`line ${line}: series ${series} twice`);
    seen.add(series);
    if (f.type === 'counter' && value < 0) throw new Error(`line ${line}: negative counter`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
