// Sessions: the list of clients in the system, with their QoE, filtered by program or user.
// Kick asks for a reason; that row then shows the disconnect's A–E timeline as each step lands
// (GET /v1/admin/disconnects/:id, polled), and leaves the table once the chain is done.
import { api, enc, notice } from './api.js';
import { fill, h, pct, rate, secs, table, when } from './dom.js';

const REFRESH_MS = 2000;
const KICK_POLL_MS = 300;
/** How long a kicked row stays, its timeline complete, before it leaves. */
const LINGER_MS = 700;

const STEP_NAMES = {
  command_sent: 'A command sent',
  tracker_ack: 'B tracker ack',
  client_stopped: 'C–D client stopped',
  client_timeout: 'C–D client timed out',
  client_gone: 'C–D client gone',
  client_lost: 'C–D client lost',
  control_ack: 'E control ack',
  not_joined: 'never joined',
  late_join: 'late join',
};

/**
 * @typedef {{ id: string, user: string, program: string, role: string, state: string, ip: string|null, port: number|null,
 *   tracker: string|null, since: string, qoe?: null | { continuity: number, stalled_s: number, behind_live_s: number|null,
 *   down_bps: number, up_bps: number, from_peers_share: number|null, peers: number } }} Session
 * @typedef {{ id: string, state: string, outcome: string|null, reason: string, timeline: { event: string, ms: number, detail?: string }[] }} Disconnect
 * @typedef {{ session: Session, disconnect: Disconnect | null, doneAt: number | null, error?: string }} Kick
 */

/** @param {HTMLElement} view @param {{ program?: string, user?: string }} [filter] @returns {() => void} stop */
export function showSessions(view, filter = {}) {
  /** @type {Session[]} */
  let sessions = [];
  /** @type {Map<string, Kick>} */
  const kicks = new Map();
  let stopped = false;
  const timers = new Set();

  const programSel = /** @type {HTMLSelectElement} */ (h('select', { name: 'program' }, h('option', { value: '' }, 'all programs')));
  const userInput = /** @type {HTMLInputElement} */ (h('input', { name: 'user', placeholder: 'user', value: filter.user ?? '' }));
  const count = h('span', { class: 'hint' });
  const kickBox = h('div', { class: 'toolbar', id: 'kick-box', hidden: true });
  const body = h('div');
  programSel.addEventListener('change', render);
  userInput.addEventListener('input', render);
  fill(view, h('h2', {}, 'Sessions'), h('div', { class: 'toolbar' }, h('label', {}, 'Program', programSel), h('label', {}, 'User', userInput), count), kickBox, body);

  /** @param {Session} s */
  function askKick(s) {
    const reason = /** @type {HTMLInputElement} */ (h('input', { name: 'reason', maxlength: 500, value: 'disconnected by the operator', size: 40 }));
    const error = h('span', { class: 'error', role: 'alert' });
    const confirm = h('button', { type: 'button', class: 'confirm-kick' }, 'Kick');
    confirm.addEventListener('click', () => {
      kickBox.hidden = true;
      void kick(s, reason.value.trim() || 'disconnected by the operator');
    });
    const cancel = h('button', { type: 'button' }, 'Cancel');
    cancel.addEventListener('click', () => (kickBox.hidden = true));
    fill(kickBox, h('span', {}, 'Kick ', h('strong', {}, s.user), ` (${s.program}, session ${s.id})`), h('label', {}, 'Reason', reason), confirm, cancel, error);
    kickBox.hidden = false;
    reason.focus();
  }

  /** @param {Session} s @param {string} reason */
  async function kick(s, reason) {
    /** @type {Kick} */
    const k = { session: s, disconnect: null, doneAt: null };
    kicks.set(s.id, k);
    render();
    try {
      const res = await api('POST', '/v1/admin/kick', { session: s.id, reason });
      k.disconnect = res.disconnects[0] ?? null;
    } catch (err) {
      k.error = err instanceof Error ? err.message : String(err);
      k.doneAt = Date.now() + 4000;
      render();
      return;
    }
    render();
    const follow = async () => {
      if (stopped || !k.disconnect) return;
      try {
        k.disconnect = await api('GET', `/v1/admin/disconnects/${enc(k.disconnect.id)}`);
      } catch (err) {
        k.error = err instanceof Error ? err.message : String(err);
      }
      if (k.disconnect && k.disconnect.state === 'completed') {
        k.doneAt = Date.now();
        render();
        later(() => {
          kicks.delete(s.id);
          render();
        }, LINGER_MS);
        return;
      }
      render();
      later(follow, KICK_POLL_MS);
    };
    void follow();
  }

  /** @param {() => void} fn @param {number} ms */
  function later(fn, ms) {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  }

  /** @param {Kick} k */
  function timeline(k) {
    if (k.error) return h('p', { class: 'error' }, k.error);
    const d = k.disconnect;
    const steps = d ? d.timeline.map((t) => h('li', { 'data-event': t.event }, `${STEP_NAMES[/** @type {keyof STEP_NAMES} */ (t.event)] ?? t.event} +${t.ms} ms`, t.detail ? ` (${t.detail})` : '')) : [];
    const status = !d ? 'sending the kick…' : d.state === 'completed' ? `done: ${d.outcome ?? ''}` : 'in progress…';
    return h('div', {}, h('ol', { class: 'timeline' }, steps), h('span', { class: 'hint kick-status' }, status));
  }

  function render() {
    const programs = [...new Set(sessions.map((s) => s.program))].sort();
    const chosen = programSel.value || filter.program || '';
    fill(programSel, h('option', { value: '' }, 'all programs'), programs.map((p) => h('option', { value: p, selected: p === chosen }, p)));
    filter.program = undefined;
    const user = userInput.value.trim().toLowerCase();
    const shown = new Map(sessions.map((s) => [s.id, s]));
    for (const [sid, k] of kicks) if (!shown.has(sid)) shown.set(sid, k.session);
    const rows = [...shown.values()]
      .filter((s) => (!programSel.value || s.program === programSel.value) && (!user || s.user.toLowerCase().includes(user)))
      .map((s) => {
        const q = s.qoe;
        const k = kicks.get(s.id);
        let action;
        if (k) action = timeline(k);
        else {
          action = h('button', { type: 'button', class: 'kick' }, 'Kick');
          action.addEventListener('click', () => askKick(s));
        }
        return h(
          'tr',
          { 'data-session': s.id, class: k ? 'kicking' : undefined },
          h('td', { class: 'user' }, s.user),
          h('td', {}, s.program),
          h('td', {}, s.role),
          h('td', {}, s.ip ? `${s.ip}:${s.port ?? ''}` : '–'),
          h('td', {}, s.tracker ?? '–'),
          h('td', {}, when(s.since)),
          h('td', {}, q ? pct(q.continuity, 2) : '–'),
          h('td', {}, q ? secs(q.stalled_s) : '–'),
          h('td', {}, q ? secs(q.behind_live_s) : '–'),
          h('td', {}, q ? `${rate(q.down_bps)} / ${rate(q.up_bps)}` : '–'),
          h('td', {}, q ? pct(q.from_peers_share, 0) : '–'),
          h('td', {}, q ? String(q.peers) : '–'),
          h('td', { class: 'action' }, action),
        );
      });
    fill(count, `${rows.length} shown`);
    fill(body, table(['User', 'Program', 'Role', 'Address', 'Tracker', 'Since', 'Continuity', 'Stalled', 'Behind live', 'Down / up', 'From peers', 'Peers', ''], rows));
  }

  async function refresh() {
    try {
      const res = await api('GET', '/v1/admin/sessions');
      sessions = res.sessions.filter((/** @type {Session} */ s) => s.state !== 'ended');
      render();
      notice();
    } catch (err) {
      notice(err);
    }
    later(refresh, REFRESH_MS);
  }
  void refresh();

  return () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
  };
}
