/**
 * The ControlStore compliance suite: every adapter runs it, so the control
 * server behaves the same on SQLite and PostgreSQL.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError } from '../../src/core/errors.js';
import type { ControlStore } from '../../src/core/ports.js';
import type { DeviceRecord, DisconnectRecord, Program, SessionRecord, User } from '../../src/core/types.js';

const user = (name: string, isAdmin = false): User => ({ name, passwordHash: `hash-of-${name}`, isAdmin, createdAt: 1_000, maxSessions: null });

const program = (id: string, lengthS: number | null = null): Program => ({
  id,
  title: `Title ${id}`,
  bitrateBps: 2_000_000,
  lengthS,
  sourcePublicKey: `pub-${id}`,
  sourcePrivateKey: `priv-${id}`,
  packetsPerPiece: 174,
  createdAt: 2_000,
});

const session = (id: string, over: Partial<SessionRecord> = {}): SessionRecord => ({
  id,
  user: 'alice',
  program: 'news',
  role: 'viewer',
  clientKey: `ckey-${id}`,
  state: 'admitted',
  ip: null,
  port: null,
  trackerId: null,
  createdAt: 3_000,
  joinedAt: null,
  endedAt: null,
  endReason: null,
  ...over,
});

const disconnect = (id: string, over: Partial<DisconnectRecord> = {}): DisconnectRecord => ({
  id,
  sid: 's1',
  user: 'alice',
  program: 'news',
  reason: 'kicked',
  state: 'pending',
  outcome: null,
  trackerId: 't1',
  attempts: 0,
  createdAt: 5_000,
  completedAt: null,
  timeline: [],
  ...over,
});

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ClientError && err.code === code);
}

export function runControlStoreSuite(name: string, make: () => Promise<ControlStore>): void {
  describe(`ControlStore compliance: ${name}`, () => {
    let store: ControlStore;
    beforeEach(async () => {
      store = await make();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    it('migrate is idempotent', async () => {
      await store.migrate();
      await store.migrate();
      assert.deepEqual(await store.listUsers(), []);
    });

    describe('users', () => {
      it('creates, reads and lists users in name order', async () => {
        await store.createUser(user('bob'));
        await store.createUser(user('alice', true));
        assert.deepEqual(await store.getUser('alice'), user('alice', true));
        assert.equal(await store.getUser('nobody'), undefined);
        assert.deepEqual(
          (await store.listUsers()).map((u) => u.name),
          ['alice', 'bob'],
        );
      });

      it('lists names in byte order whatever the locale (upper case before lower, accents last)', async () => {
        for (const name of ['bob', 'Zed', 'émile', 'alice', 'Alice']) await store.createUser(user(name));
        assert.deepEqual(
          (await store.listUsers()).map((u) => u.name),
          ['Alice', 'Zed', 'alice', 'bob', 'émile'],
        );
      });

      it('keeps, sets and clears a session limit, refusing an unknown user', async () => {
        await store.createUser({ ...user('carol'), maxSessions: 2 });
        assert.equal((await store.getUser('carol'))?.maxSessions, 2);
        await store.setUserMaxSessions('carol', 1);
        assert.equal((await store.getUser('carol'))?.maxSessions, 1);
        await store.setUserMaxSessions('carol', null);
        assert.equal((await store.getUser('carol'))?.maxSessions, null);
        await rejectsWithCode(store.setUserMaxSessions('nobody', 1), 'unknown_user');
      });

      it('refuses a duplicate name with conflict', async () => {
        await store.createUser(user('alice'));
        await rejectsWithCode(store.createUser(user('alice')), 'conflict');
      });

      it('changes a password hash, and refuses it for an unknown user', async () => {
        await store.createUser(user('alice'));
        await store.setUserPassword('alice', 'new-hash');
        assert.equal((await store.getUser('alice'))?.passwordHash, 'new-hash');
        await rejectsWithCode(store.setUserPassword('nobody', 'x'), 'unknown_user');
      });

      it('deletes a user and reports whether it existed', async () => {
        await store.createUser(user('alice'));
        assert.equal(await store.deleteUser('alice'), true);
        assert.equal(await store.deleteUser('alice'), false);
        assert.equal(await store.getUser('alice'), undefined);
      });
    });

    describe('programs', () => {
      it('creates, reads, lists and deletes programs, keeping null lengths', async () => {
        await store.createProgram(program('news'));
        await store.createProgram(program('movie', 5400.5));
        assert.deepEqual(await store.getProgram('news'), program('news'));
        assert.deepEqual(await store.getProgram('movie'), program('movie', 5400.5));
        assert.deepEqual(
          (await store.listPrograms()).map((p) => p.id),
          ['movie', 'news'],
        );
        assert.equal(await store.deleteProgram('news'), true);
        assert.equal(await store.deleteProgram('news'), false);
        assert.equal(await store.getProgram('news'), undefined);
      });

      it('refuses a duplicate id with conflict', async () => {
        await store.createProgram(program('news'));
        await rejectsWithCode(store.createProgram(program('news')), 'conflict');
      });

      it('replaces the source public key and erases a held private key; unknown program: unknown_program', async () => {
        await store.createProgram(program('news'));
        await store.createProgram(program('sport'));
        await store.setProgramSourceKey('news', 'pub-new');
        assert.deepEqual(await store.getProgram('news'), { ...program('news'), sourcePublicKey: 'pub-new', sourcePrivateKey: '' });
        assert.deepEqual(await store.getProgram('sport'), program('sport'), 'other programs untouched');
        await rejectsWithCode(store.setProgramSourceKey('nosuch', 'pub-x'), 'unknown_program');
      });
    });

    describe('subscriptions', () => {
      beforeEach(async () => {
        await store.createUser(user('alice'));
        await store.createUser(user('bob'));
        await store.createProgram(program('news'));
        await store.createProgram(program('sport'));
      });

      it('puts, replaces, reads and filters subscriptions', async () => {
        await store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 10 });
        await store.putSubscription({ user: 'alice', program: 'sport', until: 99, createdAt: 11 });
        await store.putSubscription({ user: 'bob', program: 'news', until: 50, createdAt: 12 });
        await store.putSubscription({ user: 'bob', program: 'news', until: 77, createdAt: 13 });
        assert.deepEqual(await store.getSubscription('bob', 'news'), { user: 'bob', program: 'news', until: 77, createdAt: 13, maxSessions: null });
        assert.equal(await store.getSubscription('bob', 'sport'), undefined);
        assert.equal((await store.listSubscriptions()).length, 3);
        assert.deepEqual(
          (await store.listSubscriptions({ user: 'alice' })).map((s) => s.program),
          ['news', 'sport'],
        );
        assert.deepEqual(
          (await store.listSubscriptions({ program: 'news' })).map((s) => s.user),
          ['alice', 'bob'],
        );
        assert.equal((await store.listSubscriptions({ user: 'bob', program: 'news' })).length, 1);
      });

      it('keeps a per-subscription session limit, and replaces it on a put', async () => {
        await store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 10, maxSessions: 3 });
        assert.equal((await store.getSubscription('alice', 'news'))?.maxSessions, 3);
        await store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 11 });
        assert.equal((await store.getSubscription('alice', 'news'))?.maxSessions, null);
      });

      it('refuses a subscription for an unknown user or program', async () => {
        await rejectsWithCode(store.putSubscription({ user: 'nobody', program: 'news', until: null, createdAt: 1 }), 'unknown_user');
        await rejectsWithCode(store.putSubscription({ user: 'alice', program: 'nothing', until: null, createdAt: 1 }), 'unknown_program');
      });

      it('deletes a subscription and reports whether it existed', async () => {
        await store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 10 });
        assert.equal(await store.deleteSubscription('alice', 'news'), true);
        assert.equal(await store.deleteSubscription('alice', 'news'), false);
      });

      it('drops subscriptions with their user or program', async () => {
        await store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 10 });
        await store.putSubscription({ user: 'bob', program: 'sport', until: null, createdAt: 10 });
        await store.deleteUser('alice');
        await store.deleteProgram('sport');
        assert.deepEqual(await store.listSubscriptions(), []);
      });
    });

    describe('sessions', () => {
      it('creates and reads a session', async () => {
        await store.createSession(session('s1'));
        assert.deepEqual(await store.getSession('s1'), session('s1'));
        assert.equal(await store.getSession('s2'), undefined);
        await rejectsWithCode(store.createSession(session('s1')), 'conflict');
      });

      it('patches only the given fields', async () => {
        await store.createSession(session('s1'));
        await store.updateSession('s1', { state: 'joined', ip: '10.0.0.7', port: 6881, trackerId: 't1', joinedAt: 4_000 });
        assert.deepEqual(
          await store.getSession('s1'),
          session('s1', { state: 'joined', ip: '10.0.0.7', port: 6881, trackerId: 't1', joinedAt: 4_000 }),
        );
        await store.updateSession('s1', { state: 'ended', endedAt: 5_000, endReason: 'stopped' });
        const s = await store.getSession('s1');
        assert.equal(s?.state, 'ended');
        assert.equal(s?.ip, '10.0.0.7');
        assert.equal(s?.endReason, 'stopped');
      });

      it('refuses to patch an unknown session', async () => {
        await rejectsWithCode(store.updateSession('nope', { state: 'ended' }), 'unknown_session');
      });

      it('lists sessions not ended unless asked, with filters', async () => {
        await store.createSession(session('s1', { createdAt: 1 }));
        await store.createSession(session('s2', { createdAt: 2, user: 'bob', state: 'joined' }));
        await store.createSession(session('s3', { createdAt: 3, program: 'sport', state: 'ended' }));
        assert.deepEqual(
          (await store.listSessions()).map((s) => s.id),
          ['s1', 's2'],
        );
        assert.deepEqual(
          (await store.listSessions({ includeEnded: true })).map((s) => s.id),
          ['s1', 's2', 's3'],
        );
        assert.deepEqual(
          (await store.listSessions({ user: 'bob' })).map((s) => s.id),
          ['s2'],
        );
        assert.deepEqual(
          (await store.listSessions({ program: 'sport', includeEnded: true })).map((s) => s.id),
          ['s3'],
        );
      });

      it('lists ended sessions only if they ended after endedAfter', async () => {
        await store.createSession(session('open', { createdAt: 1 }));
        await store.createSession(session('old', { createdAt: 2, state: 'ended', endedAt: 100 }));
        await store.createSession(session('new', { createdAt: 3, state: 'ended', endedAt: 200 }));
        assert.deepEqual(
          (await store.listSessions({ includeEnded: true, endedAfter: 100 })).map((s) => s.id),
          ['open', 'new'],
        );
        assert.deepEqual(
          (await store.listSessions({ endedAfter: 100 })).map((s) => s.id),
          ['open'],
        );
      });

      it('keeps sessions when their user is deleted (history)', async () => {
        await store.createUser(user('alice'));
        await store.createSession(session('s1'));
        await store.deleteUser('alice');
        assert.equal((await store.getSession('s1'))?.user, 'alice');
      });
    });

    describe('disconnects', () => {
      it('creates and reads a disconnect, refusing a duplicate id', async () => {
        const d = disconnect('d1', { timeline: [{ at: 5_000, event: 'command_sent', detail: 'attempt 1' }] });
        await store.createDisconnect(d);
        assert.deepEqual(await store.getDisconnect('d1'), d);
        assert.equal(await store.getDisconnect('d2'), undefined);
        await rejectsWithCode(store.createDisconnect(d), 'conflict');
      });

      it('patches fields and appends to the timeline in one write, returning the result', async () => {
        await store.createDisconnect(disconnect('d1'));
        const sent = await store.updateDisconnect('d1', { attempts: 1, append: [{ at: 5_001, event: 'command_sent' }] });
        assert.equal(sent.attempts, 1);
        await store.updateDisconnect('d1', { append: [{ at: 5_002, event: 'tracker_ack' }] });
        const done = await store.updateDisconnect('d1', {
          state: 'completed',
          outcome: 'stopped',
          completedAt: 5_010,
          append: [
            { at: 5_010, event: 'client_stopped', detail: 'stopped' },
            { at: 5_010, event: 'control_ack' },
          ],
        });
        const expected = disconnect('d1', {
          attempts: 1,
          state: 'completed',
          outcome: 'stopped',
          completedAt: 5_010,
          timeline: [
            { at: 5_001, event: 'command_sent' },
            { at: 5_002, event: 'tracker_ack' },
            { at: 5_010, event: 'client_stopped', detail: 'stopped' },
            { at: 5_010, event: 'control_ack' },
          ],
        });
        assert.deepEqual(done, expected);
        assert.deepEqual(await store.getDisconnect('d1'), expected);
        // Setting a field to null is a change, leaving it out is not.
        await store.updateDisconnect('d1', { trackerId: null });
        assert.equal((await store.getDisconnect('d1'))?.trackerId, null);
        assert.equal((await store.getDisconnect('d1'))?.outcome, 'stopped');
      });

      it('refuses a second pending disconnect for one session with conflict; completed ones do not count', async () => {
        await store.createDisconnect(disconnect('d1', { sid: 's9', state: 'completed', outcome: 'stopped', completedAt: 6_000 }));
        await store.createDisconnect(disconnect('d2', { sid: 's9' }));
        await rejectsWithCode(store.createDisconnect(disconnect('d3', { sid: 's9' })), 'conflict');
        await store.updateDisconnect('d2', { state: 'completed', outcome: 'stopped', completedAt: 7_000 });
        await store.createDisconnect(disconnect('d4', { sid: 's9' }));
        assert.deepEqual((await store.listDisconnects({ sid: 's9', pending: true })).map((d) => d.id), ['d4']);
      });

      it('refuses to patch an unknown disconnect', async () => {
        await rejectsWithCode(store.updateDisconnect('nope', { attempts: 1 }), 'not_found');
      });

      it('lists newest first, filtered by pending and session, with a limit', async () => {
        await store.createDisconnect(disconnect('d1', { createdAt: 1, sid: 'a', state: 'completed', outcome: 'timeout', completedAt: 9 }));
        await store.createDisconnect(disconnect('d2', { createdAt: 2, sid: 'b' }));
        await store.createDisconnect(disconnect('d3', { createdAt: 3, sid: 'a' }));
        assert.deepEqual(
          (await store.listDisconnects()).map((d) => d.id),
          ['d3', 'd2', 'd1'],
        );
        assert.deepEqual(
          (await store.listDisconnects({ pending: true })).map((d) => d.id),
          ['d3', 'd2'],
        );
        assert.deepEqual(
          (await store.listDisconnects({ sid: 'a' })).map((d) => d.id),
          ['d3', 'd1'],
        );
        assert.deepEqual(
          (await store.listDisconnects({ sid: 'a', pending: true })).map((d) => d.id),
          ['d3'],
        );
        assert.deepEqual(
          (await store.listDisconnects({ limit: 2 })).map((d) => d.id),
          ['d3', 'd2'],
        );
      });
    });

    describe('devices', () => {
      const device = (id: string, over: Partial<DeviceRecord> = {}): DeviceRecord => ({
        id,
        user: 'alice',
        secretHash: `sha-${id}`,
        label: `host-${id}`,
        createdAt: 10_000,
        expiresAt: 20_000,
        ...over,
      });

      it('creates, reads, lists (oldest first) and deletes a device', async () => {
        await store.createUser(user('alice'));
        await store.createDevice(device('d2', { createdAt: 12_000 }));
        await store.createDevice(device('d1'));
        assert.deepEqual(await store.getDevice('d1'), device('d1'));
        assert.deepEqual((await store.listDevices('alice')).map((d) => d.id), ['d1', 'd2']);
        assert.deepEqual(await store.listDevices('bob'), []);
        assert.equal(await store.deleteDevice('d1'), true);
        assert.equal(await store.deleteDevice('d1'), false);
        assert.equal(await store.getDevice('d1'), undefined);
      });

      it('refuses a duplicate id and a device of an unknown user', async () => {
        await store.createUser(user('alice'));
        await store.createDevice(device('d1'));
        await rejectsWithCode(store.createDevice(device('d1')), 'conflict');
        await rejectsWithCode(store.createDevice(device('d9', { user: 'nobody' })), 'unknown_user');
      });

      it("deletes all of a user's devices, or only the expired ones, and no one else's", async () => {
        await store.createUser(user('alice'));
        await store.createUser(user('bob'));
        await store.createDevice(device('a1', { expiresAt: 15_000 }));
        await store.createDevice(device('a2', { expiresAt: 25_000 }));
        await store.createDevice(device('b1', { user: 'bob', expiresAt: 15_000 }));
        assert.equal(await store.deleteDevicesOfUser('alice', { expiredAt: 15_000 }), 1);
        assert.deepEqual((await store.listDevices('alice')).map((d) => d.id), ['a2']);
        assert.equal(await store.deleteDevicesOfUser('alice'), 1);
        assert.deepEqual(await store.listDevices('alice'), []);
        assert.deepEqual((await store.listDevices('bob')).map((d) => d.id), ['b1']);
      });

      it("a removed user's devices go with it", async () => {
        await store.createUser(user('alice'));
        await store.createDevice(device('d1'));
        await store.deleteUser('alice');
        assert.equal(await store.getDevice('d1'), undefined);
      });
    });

    describe('secrets', () => {
      it('stores and replaces a named secret', async () => {
        assert.equal(await store.getSecret('token_signing_key'), undefined);
        await store.putSecret('token_signing_key', 'one');
        assert.equal(await store.getSecret('token_signing_key'), 'one');
        await store.putSecret('token_signing_key', 'two');
        assert.equal(await store.getSecret('token_signing_key'), 'two');
      });
    });
  });
}
