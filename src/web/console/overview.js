// Overview: per program, its viewers and how well they play, live from the server-sent events of
// GET /v1/console/events (the figures of GET /v1/admin/programs/:id/stats), the last minutes drawn as inline SVG.
import { api, signedOutNow } from './api.js';
import { fill, h, pct, rate, secs } from './dom.js';

/** Points kept per program: 5 minutes at one event a second. */
const HISTORY = 300;
const SVG = 'http://www.w3.org/2000/svg';

/** @type {Map<string, { viewers: number, share: number | null }[]>} kept across visits of the page */
const history = new Map();

/**
 * A small line chart: viewers (scaled to the largest seen) and share from peers (0..1).
 * @param {{ viewers: number, share: number | null }[]} points
 */
function chart(points) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', `0 0 ${HISTORY} 100`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'viewers (blue) and share from peers (green), last minutes');
  const top = Math.max(1, ...points.map((p) => p.viewers));
  const x0 = HISTORY - points.length;
  /** @param {(p: { viewers: number, share: number | null }) => number | null} y @param {string} cls */
  const line = (y, cls) => {
    // One point draws no line: start it one step earlier.
    const drawn = points.length === 1 ? [points[0], points[0]] : points;
    const start = points.length === 1 ? x0 - 1 : x0;
    const pts = drawn.map((p, i) => [start + i, y(/** @type {{ viewers: number, share: number | null }} */ (p))]).filter(([, v]) => v !== null).map(([x, v]) => `${x},${(100 - /** @type {number} */ (v) * 96 - 2).toFixed(1)}`);
    const el = document.createElementNS(SVG, 'polyline');
    el.setAttribute('points', pts.join(' '));
    el.setAttribute('class', cls);
    return el;
  };
  svg.append(line((p) => p.viewers / top, 'viewers'), line((p) => p.share, 'share'));
  return svg;
}

/** @param {string} label @param {string} value @param {string} key */
function figure(label, value, key) {
  return h('div', { 'data-figure': key }, h('dt', {}, label), h('dd', {}, value));
}

/** @param {HTMLElement} view @returns {() => void} stop */
export function showOverview(view) {
  const cards = h('div', { class: 'cards' });
  const live = h('span', { class: 'hint', id: 'live' }, 'connecting…');
  fill(view, h('h2', {}, 'Overview ', live), cards);
  // Server-sent events: one `stats` event a second with every program's figures.
  const events = new window.EventSource('/v1/console/events');
  events.addEventListener('stats', (ev) => {
    fill(live, 'live');
    render(JSON.parse(/** @type {MessageEvent} */ (ev).data).programs);
  });
  events.addEventListener('end', () => {
    events.close();
    signedOutNow();
  });
  events.addEventListener('error', () => {
    fill(live, 'reconnecting…');
    // Closed for good (a refusal, e.g. the session ended): find out whether we are still signed in.
    if (events.readyState === window.EventSource.CLOSED) api('GET', '/v1/console/session').catch(() => signedOutNow());
  });

  /** @param {{ id: string, title: string, stats: any }[]} programs */
  function render(programs) {
    fill(
      cards,
      programs.map((p) => {
        const s = p.stats;
        const points = history.get(p.id) ?? [];
        points.push({ viewers: s.viewers, share: s.from_peers_share });
        if (points.length > HISTORY) points.splice(0, points.length - HISTORY);
        history.set(p.id, points);
        return h(
          'section',
          { class: 'card', 'data-program': p.id },
          h('h3', {}, p.title, ' ', h('span', { class: 'hint' }, p.id)),
          h(
            'dl',
            { class: 'figures' },
            figure('Viewers now', String(s.viewers), 'viewers'),
            figure('Share from peers', pct(s.from_peers_share, 0), 'share'),
            figure('Source upload', rate(s.source_bps), 'source'),
            figure('Continuity (median)', pct(s.continuity_median, 2), 'continuity'),
            figure('Continuity (worst)', pct(s.continuity_worst, 2), 'worst'),
            figure('Startup (median)', secs(s.startup_median_s), 'startup'),
            figure(`Behind live > ${s.behind_live_threshold_s} s`, String(s.behind_live_over), 'behind'),
            figure('Reporting', `${s.reporting} of ${s.viewers}`, 'reporting'),
            figure('Peers (median)', s.peers_median === null ? '–' : String(s.peers_median), 'peers'),
          ),
          chart(points),
          h('p', { class: 'hint legend' }, h('span', { class: 'key viewers' }, '■'), ` viewers (top: ${Math.max(1, ...points.map((x) => x.viewers))})  `, h('span', { class: 'key share' }, '■'), ' share from peers (0–100 %), last 5 min'),
        );
      }),
    );
    if (programs.length === 0) fill(cards, h('p', { class: 'hint' }, 'No programs yet.'));
  }

  return () => events.close();
}
