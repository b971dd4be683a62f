// The customer database and the programs: users, programs, subscriptions, and the disconnect history.
import { api, enc, notice } from './api.js';
import { field, fill, form, h, rate, table, when } from './dom.js';

/** @param {HTMLElement} view @param {(v: string, f?: { user?: string }) => void} go */
export async function showUsers(view, go) {
  const list = h('div');
  const add = form('add-user', [field('Name', { name: 'name', required: true, maxlength: 64 }), field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' }), field('Max sessions', { name: 'max_sessions', type: 'number', min: 1 })], 'Add user', async (d) => {
    await api('POST', '/v1/admin/users', { name: d.name, password: d.password, ...(d.max_sessions ? { max_sessions: Number(d.max_sessions) } : {}) });
    await load();
  });
  fill(view, h('h2', {}, 'Users'), add, list);

  async function load() {
    try {
      const [{ users }, { sessions }] = await Promise.all([api('GET', '/v1/admin/users'), api('GET', '/v1/admin/sessions')]);
      /** @type {Map<string, number>} */
      const open = new Map();
      for (const s of sessions) if (s.state !== 'ended') open.set(s.user, (open.get(s.user) ?? 0) + 1);
      fill(list, table(['Name', 'Admin', 'Max sessions', 'Sessions', 'Created', ''], users.map((/** @type {any} */ u) => userRow(u, open.get(u.name) ?? 0))));
      notice();
    } catch (err) {
      notice(err);
    }
  }

  /** @param {{ name: string, is_admin: boolean, max_sessions: number|null, created_at: string }} u @param {number} n */
  function userRow(u, n) {
    const actions = h('td', { class: 'actions' });
    const error = h('span', { class: 'error', role: 'alert' });
    /** @param {() => Promise<void>} fn */
    const attempt = (fn) => fn().then(load, (err) => fill(error, err.message));
    if (!u.is_admin) {
      const pw = h('input', { type: 'password', placeholder: 'new password', size: 12, autocomplete: 'new-password' });
      const setPw = h('button', { type: 'button' }, 'Set password');
      setPw.addEventListener('click', () => attempt(() => api('PUT', `/v1/admin/users/${enc(u.name)}/password`, { password: /** @type {HTMLInputElement} */ (pw).value })));
      const max = h('input', { type: 'number', min: 1, placeholder: 'max', size: 4, value: u.max_sessions ?? '' });
      const setMax = h('button', { type: 'button' }, 'Set max');
      setMax.addEventListener('click', () => {
        const v = /** @type {HTMLInputElement} */ (max).value;
        attempt(() => api('PATCH', `/v1/admin/users/${enc(u.name)}`, { max_sessions: v === '' ? null : Number(v) }));
      });
      const remove = h('button', { type: 'button' }, 'Remove');
      remove.addEventListener('click', () => {
        if (window.confirm(`Remove ${u.name}, their subscriptions and sessions?`)) attempt(() => api('DELETE', `/v1/admin/users/${enc(u.name)}`));
      });
      actions.append(pw, setPw, max, setMax, remove, error);
    }
    const sessionsLink = h('button', { type: 'button', class: 'link' }, String(n));
    sessionsLink.addEventListener('click', () => go('sessions', { user: u.name }));
    return h('tr', { 'data-user': u.name }, h('td', { class: 'name' }, u.name), h('td', {}, u.is_admin ? 'yes' : ''), h('td', {}, u.max_sessions ?? 'default'), h('td', {}, sessionsLink), h('td', {}, when(u.created_at)), actions);
  }
  await load();
}

/** A short fingerprint of a public key: the first and last characters, the whole key on hover. @param {string} key */
function fingerprint(key) {
  return h('code', { title: key }, `${key.slice(0, 8)}…${key.slice(-6)}`);
}

/** @param {HTMLElement} view */
export async function showPrograms(view) {
  const list = h('div');
  const cmd = h('code', {}, 'gatecast admin programs add ID --title "TITLE" --bitrate BPS');
  const add = form(
    'add-program',
    [
      field('Id', { name: 'id', required: true, maxlength: 64 }),
      field('Title', { name: 'title', required: true }),
      field('Bitrate (bit/s)', { name: 'bitrate', type: 'number', min: 1 }),
      field('Source public key', { name: 'source_key', required: true, size: 44, pattern: '[A-Za-z0-9_-]{43}' }),
    ],
    'Add program',
    async (d) => {
      await api('POST', '/v1/admin/programs', { id: d.id, title: d.title, source_key: d.source_key, ...(d.bitrate ? { bitrate_bps: Number(d.bitrate) } : {}) });
      await load();
    },
  );
  fill(
    view,
    h('h2', {}, 'Programs'),
    h('p', { class: 'hint' }, "A program's source key pair is made where its broadcaster runs; the server only ever gets the public half. The simplest way: ", cmd, ' on that machine (it saves the private key where gatecast broadcast looks). To add it here instead, paste the public key (raw Ed25519, base64url).'),
    add,
    list,
  );
  async function load() {
    try {
      const { programs } = await api('GET', '/v1/admin/programs');
      fill(
        list,
        table(
          ['Id', 'Title', 'Bitrate', 'Info hash', 'Source key', 'Created', ''],
          programs.map((/** @type {any} */ p) => {
            const error = h('span', { class: 'error' });
            const remove = h('button', { type: 'button' }, 'Remove');
            remove.addEventListener('click', () => {
              if (window.confirm(`Remove program ${p.id} and its subscriptions?`)) api('DELETE', `/v1/admin/programs/${enc(p.id)}`).then(load, (err) => fill(error, err.message));
            });
            return h('tr', { 'data-program': p.id }, h('td', {}, p.id), h('td', {}, p.title), h('td', {}, rate(p.bitrate_bps)), h('td', {}, h('code', {}, p.info_hash)), h('td', {}, fingerprint(p.source_key)), h('td', {}, when(p.created_at)), h('td', {}, remove, error));
          }),
        ),
      );
      notice();
    } catch (err) {
      notice(err);
    }
  }
  await load();
}

/** @param {HTMLElement} view */
export async function showSubscriptions(view) {
  const list = h('div');
  const users = h('datalist', { id: 'user-names' });
  const programs = h('datalist', { id: 'program-ids' });
  const grant = form(
    'grant',
    [field('User', { name: 'user', required: true, list: 'user-names' }), field('Program', { name: 'program', required: true, list: 'program-ids' }), field('Until (optional)', { name: 'until', type: 'datetime-local' })],
    'Grant',
    async (d) => {
      const until = d.until ? new Date(d.until).toISOString() : null;
      await api('PUT', '/v1/admin/subscriptions', { user: d.user, program: d.program, until });
      await load();
    },
  );
  fill(view, h('h2', {}, 'Subscriptions'), grant, users, programs, list);
  async function load() {
    try {
      const [subs, u, p] = await Promise.all([api('GET', '/v1/admin/subscriptions'), api('GET', '/v1/admin/users'), api('GET', '/v1/admin/programs')]);
      fill(users, u.users.map((/** @type {any} */ x) => h('option', { value: x.name })));
      fill(programs, p.programs.map((/** @type {any} */ x) => h('option', { value: x.id })));
      fill(
        list,
        table(
          ['User', 'Program', 'Until', 'Active', ''],
          subs.subscriptions.map((/** @type {any} */ s) => {
            const error = h('span', { class: 'error' });
            const revoke = h('button', { type: 'button', class: 'revoke' }, 'Revoke');
            revoke.addEventListener('click', () => api('DELETE', `/v1/admin/subscriptions/${enc(s.user)}/${enc(s.program)}`).then(load, (err) => fill(error, err.message)));
            return h('tr', { 'data-user': s.user, 'data-program': s.program }, h('td', {}, s.user), h('td', {}, s.program), h('td', {}, s.until ? when(s.until) : 'no expiry'), h('td', {}, s.active ? 'yes' : 'expired'), h('td', {}, revoke, error));
          }),
        ),
      );
      notice();
    } catch (err) {
      notice(err);
    }
  }
  await load();
}

/** @param {HTMLElement} view */
export async function showDisconnects(view) {
  const list = h('div');
  fill(view, h('h2', {}, 'Disconnects'), list);
  try {
    const { disconnects } = await api('GET', '/v1/admin/disconnects?limit=200');
    fill(
      list,
      table(
        ['When', 'User', 'Program', 'Session', 'Reason', 'State', 'Timeline'],
        disconnects.map((/** @type {any} */ d) =>
          h(
            'tr',
            { 'data-disconnect': d.id },
            h('td', {}, when(d.created_at)),
            h('td', {}, d.user),
            h('td', {}, d.program),
            h('td', {}, h('code', {}, d.session)),
            h('td', {}, d.reason),
            h('td', {}, d.state === 'completed' ? `${d.outcome ?? ''} in ${d.duration_ms ?? '?'} ms` : `pending (${d.attempts} sent)`),
            h('td', {}, h('ol', { class: 'timeline' }, d.timeline.map((/** @type {any} */ t) => h('li', {}, `${t.event} +${t.ms} ms`)))),
          ),
        ),
      ),
    );
    notice();
  } catch (err) {
    notice(err);
  }
}
