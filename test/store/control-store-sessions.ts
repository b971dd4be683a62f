/**
 * The ControlStore compliance suite, its second half: sessions, pending
 * disconnects and their leases, devices and secrets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceRecord } from '../../src/core/types.js';
import { disconnect, rejectsWithCode, session, user, type StoreContext } from './control-store-fixtures.js';

export function sessionStoreSuites(ctx: StoreContext): void {
    describe('sessions', () => {
      it('creates and reads a session', async () => {
        await ctx.store.createSession(session('s1'));
        assert.deepEqual(await ctx.store.getSession('s1'), session('s1'));
        assert.equal(await ctx.store.getSession('s2'), undefined);
        await rejectsWithCode(ctx.store.createSession(session('s1')), 'conflict');
      });

      it('patches only the given fields', async () => {
        await ctx.store.createSession(session('s1'));
        await ctx.store.updateSession('s1', { state: 'joined', ip: '10.0.0.7', port: 6881, trackerId: 't1', joinedAt: 4_000 });
        assert.deepEqual(
          await ctx.store.getSession('s1'),
          session('s1', { state: 'joined', ip: '10.0.0.7', port: 6881, trackerId: 't1', joinedAt: 4_000 }),
        );
        await ctx.store.updateSession('s1', { state: 'ended', endedAt: 5_000, endReason: 'stopped' });
        const s = await ctx.store.getSession('s1');
        assert.equal(s?.state, 'ended');
        assert.equal(s?.ip, '10.0.0.7');
        assert.equal(s?.endReason, 'stopped');
      });

      it('refuses to patch an unknown session', async () => {
        await rejectsWithCode(ctx.store.updateSession('nope', { state: 'ended' }), 'unknown_session');
      });

      it('lists sessions not ended unless asked, with filters', async () => {
        await ctx.store.createSession(session('s1', { createdAt: 1 }));
        await ctx.store.createSession(session('s2', { createdAt: 2, user: 'bob', state: 'joined' }));
        await ctx.store.createSession(session('s3', { createdAt: 3, program: 'sport', state: 'ended' }));
        assert.deepEqual(
          (await ctx.store.listSessions()).map((s) => s.id),
          ['s1', 's2'],
        );
        assert.deepEqual(
          (await ctx.store.listSessions({ includeEnded: true })).map((s) => s.id),
          ['s1', 's2', 's3'],
        );
        assert.deepEqual(
          (await ctx.store.listSessions({ user: 'bob' })).map((s) => s.id),
          ['s2'],
        );
        assert.deepEqual(
          (await ctx.store.listSessions({ program: 'sport', includeEnded: true })).map((s) => s.id),
          ['s3'],
        );
      });

      it('lists ended sessions only if they ended after endedAfter', async () => {
        await ctx.store.createSession(session('open', { createdAt: 1 }));
        await ctx.store.createSession(session('old', { createdAt: 2, state: 'ended', endedAt: 100 }));
        await ctx.store.createSession(session('new', { createdAt: 3, state: 'ended', endedAt: 200 }));
        assert.deepEqual(
          (await ctx.store.listSessions({ includeEnded: true, endedAfter: 100 })).map((s) => s.id),
          ['open', 'new'],
        );
        assert.deepEqual(
          (await ctx.store.listSessions({ endedAfter: 100 })).map((s) => s.id),
          ['open'],
        );
      });

      it('keeps sessions when their user is deleted (history)', async () => {
        await ctx.store.createUser(user('alice'));
        await ctx.store.createSession(session('s1'));
        await ctx.store.deleteUser('alice');
        assert.equal((await ctx.store.getSession('s1'))?.user, 'alice');
      });
    });

    describe('disconnects', () => {
      it('creates and reads a disconnect, refusing a duplicate id', async () => {
        const d = disconnect('d1', { timeline: [{ at: 5_000, event: 'command_sent', detail: 'attempt 1' }] });
        await ctx.store.createDisconnect(d);
        assert.deepEqual(await ctx.store.getDisconnect('d1'), d);
        assert.equal(await ctx.store.getDisconnect('d2'), undefined);
        await rejectsWithCode(ctx.store.createDisconnect(d), 'conflict');
      });

      it('patches fields and appends to the timeline in one write, returning the result', async () => {
        await ctx.store.createDisconnect(disconnect('d1'));
        const sent = await ctx.store.updateDisconnect('d1', { attempts: 1, append: [{ at: 5_001, event: 'command_sent' }] });
        assert.equal(sent.attempts, 1);
        await ctx.store.updateDisconnect('d1', { append: [{ at: 5_002, event: 'tracker_ack' }] });
        const done = await ctx.store.updateDisconnect('d1', {
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
        assert.deepEqual(await ctx.store.getDisconnect('d1'), expected);
        // Setting a field to null is a change, leaving it out is not.
        await ctx.store.updateDisconnect('d1', { trackerId: null });
        assert.equal((await ctx.store.getDisconnect('d1'))?.trackerId, null);
        assert.equal((await ctx.store.getDisconnect('d1'))?.outcome, 'stopped');
      });

      it('refuses a second pending disconnect for one session with conflict; completed ones do not count', async () => {
        await ctx.store.createDisconnect(disconnect('d1', { sid: 's9', state: 'completed', outcome: 'stopped', completedAt: 6_000 }));
        await ctx.store.createDisconnect(disconnect('d2', { sid: 's9' }));
        await rejectsWithCode(ctx.store.createDisconnect(disconnect('d3', { sid: 's9' })), 'conflict');
        await ctx.store.updateDisconnect('d2', { state: 'completed', outcome: 'stopped', completedAt: 7_000 });
        await ctx.store.createDisconnect(disconnect('d4', { sid: 's9' }));
        assert.deepEqual((await ctx.store.listDisconnects({ sid: 's9', pending: true })).map((d) => d.id), ['d4']);
      });

      it('refuses to patch an unknown disconnect', async () => {
        await rejectsWithCode(ctx.store.updateDisconnect('nope', { attempts: 1 }), 'not_found');
      });

      it('lists newest first, filtered by pending and session, with a limit', async () => {
        await ctx.store.createDisconnect(disconnect('d1', { createdAt: 1, sid: 'a', state: 'completed', outcome: 'timeout', completedAt: 9 }));
        await ctx.store.createDisconnect(disconnect('d2', { createdAt: 2, sid: 'b' }));
        await ctx.store.createDisconnect(disconnect('d3', { createdAt: 3, sid: 'a' }));
        assert.deepEqual(
          (await ctx.store.listDisconnects()).map((d) => d.id),
          ['d3', 'd2', 'd1'],
        );
        assert.deepEqual(
          (await ctx.store.listDisconnects({ pending: true })).map((d) => d.id),
          ['d3', 'd2'],
        );
        assert.deepEqual(
          (await ctx.store.listDisconnects({ sid: 'a' })).map((d) => d.id),
          ['d3', 'd1'],
        );
        assert.deepEqual(
          (await ctx.store.listDisconnects({ sid: 'a', pending: true })).map((d) => d.id),
          ['d3'],
        );
        assert.deepEqual(
          (await ctx.store.listDisconnects({ limit: 2 })).map((d) => d.id),
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
        await ctx.store.createUser(user('alice'));
        await ctx.store.createDevice(device('d2', { createdAt: 12_000 }));
        await ctx.store.createDevice(device('d1'));
        assert.deepEqual(await ctx.store.getDevice('d1'), device('d1'));
        assert.deepEqual((await ctx.store.listDevices('alice')).map((d) => d.id), ['d1', 'd2']);
        assert.deepEqual(await ctx.store.listDevices('bob'), []);
        assert.equal(await ctx.store.deleteDevice('d1'), true);
        assert.equal(await ctx.store.deleteDevice('d1'), false);
        assert.equal(await ctx.store.getDevice('d1'), undefined);
      });

      it('refuses a duplicate id and a device of an unknown user', async () => {
        await ctx.store.createUser(user('alice'));
        await ctx.store.createDevice(device('d1'));
        await rejectsWithCode(ctx.store.createDevice(device('d1')), 'conflict');
        await rejectsWithCode(ctx.store.createDevice(device('d9', { user: 'nobody' })), 'unknown_user');
      });

      it("deletes all of a user's devices, or only the expired ones, and no one else's", async () => {
        await ctx.store.createUser(user('alice'));
        await ctx.store.createUser(user('bob'));
        await ctx.store.createDevice(device('a1', { expiresAt: 15_000 }));
        await ctx.store.createDevice(device('a2', { expiresAt: 25_000 }));
        await ctx.store.createDevice(device('b1', { user: 'bob', expiresAt: 15_000 }));
        assert.equal(await ctx.store.deleteDevicesOfUser('alice', { expiredAt: 15_000 }), 1);
        assert.deepEqual((await ctx.store.listDevices('alice')).map((d) => d.id), ['a2']);
        assert.equal(await ctx.store.deleteDevicesOfUser('alice'), 1);
        assert.deepEqual(await ctx.store.listDevices('alice'), []);
        assert.deepEqual((await ctx.store.listDevices('bob')).map((d) => d.id), ['b1']);
      });

      it("a removed user's devices go with it", async () => {
        await ctx.store.createUser(user('alice'));
        await ctx.store.createDevice(device('d1'));
        await ctx.store.deleteUser('alice');
        assert.equal(await ctx.store.getDevice('d1'), undefined);
      });
    });

    describe('secrets', () => {
      it('stores and replaces a named secret', async () => {
        assert.equal(await ctx.store.getSecret('token_signing_key'), undefined);
        await ctx.store.putSecret('token_signing_key', 'one');
        assert.equal(await ctx.store.getSecret('token_signing_key'), 'one');
        await ctx.store.putSecret('token_signing_key', 'two');
        assert.equal(await ctx.store.getSecret('token_signing_key'), 'two');
      });
    });
}
