/**
 * Hand-written SVG charts for the bench results: panels stacked in one figure,
 * each a bar chart or a CDF, with an optional target line. No chart library.
 */

export interface Panel {
  title: string;
  /** Draws inside the plot box (x, y, w, h are the box, axes included). */
  render(x: number, y: number, w: number, h: number): string;
}

const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#718096'];
const PANEL_H = 240;
const MARGIN = { left: 64, right: 20, top: 34, bottom: 42 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 10_000) return `${Math.round(v / 1000)}k`;
  if (a >= 100) return String(Math.round(v));
  if (a >= 1) return String(Math.round(v * 100) / 100);
  return String(Math.round(v * 1000) / 1000);
}

/** A round upper bound and tick step for [0, max]. */
function niceScale(maxValue: number): { top: number; step: number } {
  const m = maxValue > 0 && Number.isFinite(maxValue) ? maxValue : 1;
  const raw = m / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(m / step) * step, step };
}

function yAxis(x: number, y: number, w: number, h: number, top: number, step: number, label: string, lo = 0): string {
  let out = '';
  for (let v = lo; v <= top + step / 1000; v += step) {
    const yy = y + h - ((v - lo) / (top - lo)) * h;
    out += `<line x1="${x}" x2="${x + w}" y1="${yy}" y2="${yy}" stroke="#e2e8f0"/>`;
    out += `<text x="${x - 6}" y="${yy + 4}" text-anchor="end" font-size="11">${fmt(v)}</text>`;
  }
  out += `<text transform="translate(${x - 48},${y + h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(label)}</text>`;
  return out + `<line x1="${x}" x2="${x}" y1="${y}" y2="${y + h}" stroke="#4a5568"/>`;
}

function targetLine(x: number, w: number, yy: number, label: string): string {
  return (
    `<line x1="${x}" x2="${x + w}" y1="${yy}" y2="${yy}" stroke="#e53e3e" stroke-dasharray="6 4"/>` +
    `<text x="${x + w - 4}" y="${yy - 4}" text-anchor="end" font-size="11" fill="#e53e3e">${esc(label)}</text>`
  );
}

/** One bar per item (e.g. per viewer), sorted as given. */
export function barPanel(
  title: string,
  yLabel: string,
  bars: Array<{ label: string; value: number }>,
  opts: { yMin?: number; yMax?: number; target?: number; targetLabel?: string; xLabel?: string } = {},
): Panel {
  return {
    title,
    render(x, y, w, h) {
      const values = bars.map((b) => b.value).filter(Number.isFinite);
      const lo = opts.yMin ?? 0;
      const hiRaw = opts.yMax ?? values.reduce((m, v) => Math.max(m, v), opts.target ?? 0);
      const { top, step } = opts.yMax !== undefined ? { top: opts.yMax, step: (opts.yMax - lo) / 5 } : niceScale(hiRaw);
      const scaleY = (v: number): number => y + h - ((Math.min(Math.max(v, lo), top) - lo) / (top - lo)) * h;
      let out = yAxis(x, y, w, h, top, step, yLabel, lo);
      const n = Math.max(1, bars.length);
      const bw = w / n;
      bars.forEach((b, i) => {
        if (!Number.isFinite(b.value)) return;
        const yy = scaleY(b.value);
        out += `<rect x="${x + i * bw + bw * 0.1}" y="${yy}" width="${Math.max(1, bw * 0.8)}" height="${y + h - yy}" fill="${COLORS[0]}"><title>${esc(b.label)}: ${fmt(b.value)}</title></rect>`;
        if (n <= 12) out += `<text x="${x + i * bw + bw / 2}" y="${y + h + 14}" text-anchor="middle" font-size="11">${esc(b.label)}</text>`;
      });
      if (n > 12) out += `<text x="${x + w / 2}" y="${y + h + 30}" text-anchor="middle" font-size="12">${esc(opts.xLabel ?? `${n} items`)}</text>`;
      if (opts.target !== undefined) out += targetLine(x, w, scaleY(opts.target), opts.targetLabel ?? `target ${fmt(opts.target)}`);
      return out + `<line x1="${x}" x2="${x + w}" y1="${y + h}" y2="${y + h}" stroke="#4a5568"/>`;
    },
  };
}

/** Empirical CDFs of one or more series on a shared x axis. */
export function cdfPanel(
  title: string,
  xLabel: string,
  series: Array<{ name: string; values: number[] }>,
  opts: { target?: number; targetLabel?: string } = {},
): Panel {
  return {
    title,
    render(x, y, w, h) {
      const all = series.flatMap((s) => s.values).filter(Number.isFinite);
      // reduce, not Math.max(...all): a churn run has more samples than the call stack holds.
      const { top, step } = niceScale(all.reduce((m, v) => Math.max(m, v), opts.target ?? 0));
      const sx = (v: number): number => x + (Math.min(v, top) / top) * w;
      let out = yAxis(x, y, w, h, 1, 0.2, 'share ≤ x');
      for (let v = 0; v <= top + step / 1000; v += step) {
        out += `<text x="${sx(v)}" y="${y + h + 14}" text-anchor="middle" font-size="11">${fmt(v)}</text>`;
      }
      out += `<text x="${x + w / 2}" y="${y + h + 32}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`;
      series.forEach((s, i) => {
        const sorted = s.values.filter(Number.isFinite).sort((a, b) => a - b);
        if (sorted.length === 0) return;
        const color = COLORS[i % COLORS.length] as string;
        let d = `M${sx(0)},${y + h}`;
        // At most ~500 steps: the chart looks the same and a long run's file stays small.
        const stride = Math.max(1, Math.ceil(sorted.length / 500));
        for (let k = 0; k < sorted.length; k += stride) {
          const v = sorted[Math.min(sorted.length - 1, k + stride - 1)] as number;
          const yy = y + h - (Math.min(sorted.length, k + stride) / sorted.length) * h;
          d += ` L${sx(v)},${y + h - (k / sorted.length) * h} L${sx(v)},${yy}`;
        }
        out += `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`;
        out += `<text x="${x + 8}" y="${y + 14 + i * 14}" font-size="11" fill="${color}">${esc(s.name)} (n=${sorted.length})</text>`;
      });
      if (opts.target !== undefined) {
        const xx = sx(opts.target);
        out += `<line x1="${xx}" x2="${xx}" y1="${y}" y2="${y + h}" stroke="#e53e3e" stroke-dasharray="6 4"/>`;
        out += `<text x="${xx + 4}" y="${y + h - 6}" font-size="11" fill="#e53e3e">${esc(opts.targetLabel ?? `target ${fmt(opts.target)}`)}</text>`;
      }
      return out + `<line x1="${x}" x2="${x + w}" y1="${y + h}" y2="${y + h}" stroke="#4a5568"/>`;
    },
  };
}

/** Stacks the panels into one SVG document. */
export function figure(title: string, panels: Panel[], width = 820): string {
  const height = 40 + panels.length * (PANEL_H + MARGIN.top + MARGIN.bottom);
  let body = `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`;
  panels.forEach((p, i) => {
    const top = 40 + i * (PANEL_H + MARGIN.top + MARGIN.bottom);
    body += `<text x="${MARGIN.left}" y="${top + 20}" font-size="13" font-weight="bold">${esc(p.title)}</text>`;
    body += p.render(MARGIN.left, top + MARGIN.top, width - MARGIN.left - MARGIN.right, PANEL_H);
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${body}</svg>\n`
  );
}
