import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerAdminCommand, type AdminIo } from '../../src/cli/admin.js';
import type { DisconnectView } from '../../src/control/index.js';
import { admin, ADMIN_PASSWORD, startWithTracker } from './helpers.js';
import { joinedSession, openSession } from './disconnect-helpers.js';

type Started = Awaited<ReturnType<typeof startWithTracker>>;

const code = (r: { body?: Record<string, unknown> }): string | undefined => (r.body as { error?: { code: string } } | undefined)?.error?.code;

describe('kick and disconnects API', () => {
  let h: Started;
  before(async () => {
    h = await startWithTracker({ expiryCheckMs: null });
  });
  after(async () => {
    await h.close();
  });

  it('refuses malformed kick bodies with 400 and a specific message', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /exactly one of "user" or "session"/],
      [{ user: 'alice', session: 'x' }, /exactly one of "user" or "session"/],
      [{ user: 5 }, /body\/user must be string/],
      [{ session: '' }, /body\/session must NOT have fewer than 1 characters/],
      [{ user: 'alice', reason: 'x'.repeat(501) }, /body\/reason must NOT have more than 500 characters/],
      [[], /body must be object/],
    ];
    for (const [body, message] of cases) {
      const res = await admin(h, 'POST', '/v1/admin/kick', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(code(res), 'invalid_request');
      assert.match((res.body as { error: { message: string } }).error.message, message);
    }
    const notJson = await h.server.app.inject({
      method: 'POST',
      url: '/v1/admin/kick',
      payload: '{"user":',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` },
    });
    assert.equal(notJson.statusCode, 400);
  });

  it('answers 404 for an unknown user or session, and 401 without admin credentials', async () => {
    const u = await admin(h, 'POST', '/v1/admin/kick', { user: 'nobody' });
    assert.deepEqual([u.status, code(u)], [404, 'unknown_user']);
    const s = await admin(h, 'POST', '/v1/admin/kick', { session: 'no-such-session' });
    assert.deepEqual([s.status, code(s)], [404, 'unknown_session']);
    const anon = await h.server.app.inject({ method: 'POST', url: '/v1/admin/kick', payload: { user: 'alice' } });
    assert.equal(anon.statusCode, 401);
    const d = await admin(h, 'GET', '/v1/admin/disconnects/nope');
    assert.deepEqual([d.status, code(d)], [404, 'not_found']);
  });

  it('answers a kick of a user with no open session with an empty list', async () => {
    await admin(h, 'POST', '/v1/admin/users', { name: 'idle', password: 'pw' });
    const res = await admin(h, 'POST', '/v1/admin/kick', { user: 'idle' });
    assert.deepEqual([res.status, res.body], [200, { disconnects: [] }]);
  });

  it('lists disconnects newest first, pending only on request, with a limit', async () => {
    await joinedSession(h, h.tracker, 'p1');
    await openSession(h.store, 'p2', 'alice', 'news', h.clock.now());
    await admin(h, 'POST', '/v1/admin/kick', { session: 'p1' });
    h.clock.advance(1);
    await admin(h, 'POST', '/v1/admin/kick', { session: 'p2' }); // never joined: completed at once
    await h.tracker.next();
    const all = (await admin(h, 'GET', '/v1/admin/disconnects')).body as { disconnects: DisconnectView[] };
    assert.deepEqual(all.disconnects.slice(0, 2).map((d) => [d.session, d.state]), [['p2', 'completed'], ['p1', 'pending']]);
    const pending = (await admin(h, 'GET', '/v1/admin/disconnects?pending=1')).body as { disconnects: DisconnectView[] };
    assert.deepEqual(pending.disconnects.map((d) => d.session), ['p1']);
    const one = (await admin(h, 'GET', '/v1/admin/disconnects?limit=1')).body as { disconnects: DisconnectView[] };
    assert.equal(one.disconnects.length, 1);
    const bySession = (await admin(h, 'GET', '/v1/admin/disconnects?session=p1')).body as { disconnects: DisconnectView[] };
    assert.deepEqual(bySession.disconnects.map((d) => d.session), ['p1']);
    for (const bad of ['limit=0', 'limit=abc', 'limit=99999', 'pending=maybe']) {
      const res = await admin(h, 'GET', `/v1/admin/disconnects?${bad}`);
      assert.equal(res.status, 400, bad);
    }
  });
});

interface Run {
  out: string;
  err: string;
  code: number;
}

describe('gatecast admin kick / disconnects', () => {
  let h: Started;
  let env: Record<string, string>;
  before(async () => {
    h = await startWithTracker({ expiryCheckMs: null });
    env = { GATECAST_CONTROL: h.url, GATECAST_ADMIN_PASSWORD: ADMIN_PASSWORD };
  });
  after(async () => {
    await h.close();
  });

  async function cli(args: string[]): Promise<Run> {
    const r: Run = { out: '', err: '', code: 0 };
    const io: AdminIo = { out: (t) => void (r.out += t), err: (t) => void (r.err += t), env, setExitCode: (c) => void (r.code = c) };
    const program = new Command().exitOverride();
    registerAdminCommand(program, io);
    await program.parseAsync(['admin', ...args], { from: 'user' });
    return r;
  }

  it('kicks a session by id, or a user, and says which sessions were told to end', async () => {
    await joinedSession(h, h.tracker, 'c1');
    await joinedSession(h, h.tracker, 'c2');
    const one = await cli(['kick', 'c1', '--reason', 'bar test']);
    assert.equal(one.code, 0, one.err);
    assert.match(one.out, /^kicked session c1: 1 session told to end\n {2}session c1 \(user alice, program news\): told to end \[disconnect \S+\]\n$/);
    const cmd = await h.tracker.next();
    assert.deepEqual(cmd.type === 'disconnect' && [cmd.sid, cmd.reason], ['c1', 'bar test']);

    const user = await cli(['kick', 'alice']);
    assert.match(user.out, /^kicked user alice: 2 sessions told to end\n/);
    assert.match(user.out, /session c1 .*told to end/);
    assert.match(user.out, /session c2 .*told to end/);
    assert.equal((await h.tracker.next()).type, 'disconnect'); // c2's (c1 already had its own)

    const none = await cli(['kick', 'nobody']);
    assert.deepEqual(none, { out: '', err: 'error: no session or user named nobody (not_found)\n', code: 1 });
    const badReason = await cli(['kick', 'alice', '--reason', '']);
    assert.equal(badReason.code, 2);
  });

  it('lists disconnects as a table with the timeline in ms, or as JSON, optionally pending only', async () => {
    const [c1] = (await h.store.listDisconnects({ sid: 'c1' })).map((d) => d.id);
    h.tracker.send({ type: 'leave', id: 'lc1', sid: 'c1', reason: 'stopped', ref: c1, at: h.clock.now() });
    await h.tracker.next();
    await h.server.orchestrator.idle();

    const table = await cli(['disconnects']);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /^DISCONNECT\s+USER\s+SESSION\s+STATE\s+REASON\s+TIMELINE\n/);
    assert.match(table.out, /alice\s+c1\s+completed \(stopped\)\s+bar test\s+command_sent \+0ms, client_stopped \+\d+ms, control_ack \+\d+ms/);
    assert.match(table.out, /alice\s+c2\s+pending\s+disconnected by the operator\s+command_sent \+0ms/);

    const pending = await cli(['disconnects', '--pending']);
    assert.doesNotMatch(pending.out, /c1/);
    assert.match(pending.out, /c2/);

    const json = JSON.parse((await cli(['disconnects', '--json'])).out) as DisconnectView[];
    const done = json.find((d) => d.session === 'c1');
    assert.deepEqual([done?.state, done?.outcome, done?.timeline.map((e) => e.event)], ['completed', 'stopped', ['command_sent', 'client_stopped', 'control_ack']]);
  });

  it('revoke ends the sessions and prints how many', async () => {
    await joinedSession(h, h.tracker, 'r1');
    const r = await cli(['revoke', 'alice', 'news']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^revoked alice's access to news; 2 running sessions told to end\n/);
    assert.match(r.out, /session r1 \(user alice, program news\): told to end/);
  });
});
