/**
 * The ControlStore compliance suite: every adapter runs it, so the control
 * server behaves the same on SQLite and PostgreSQL. Users, programs and
 * subscriptions here; sessions, disconnects, devices and secrets in
 * control-store-sessions.ts.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlStore } from '../../src/core/ports.js';
import { program, rejectsWithCode, user, type StoreContext } from './control-store-fixtures.js';
import { sessionStoreSuites } from './control-store-sessions.js';

export function runControlStoreSuite(name: string, make: () => Promise<ControlStore>): void {
  describe(`ControlStore compliance: ${name}`, () => {
    const ctx: StoreContext = { store: null as unknown as ControlStore };
    beforeEach(async () => {
      ctx.store = await make();
      await ctx.store.migrate();
    });
    afterEach(async () => {
      await ctx.store.close();
    });

    it('migrate is idempotent', async () => {
      await ctx.store.migrate();
      await ctx.store.migrate();
      assert.deepEqual(await ctx.store.listUsers(), []);
    });

    describe('users', () => {
      it('creates, reads and lists users in name order', async () => {
        await ctx.store.createUser(user('bob'));
        await ctx.store.createUser(user('alice', true));
        assert.deepEqual(await ctx.store.getUser('alice'), user('alice', true));
        assert.equal(await ctx.store.getUser('nobody'), undefined);
        assert.deepEqual(
          (await ctx.store.listUsers()).map((u) => u.name),
          ['alice', 'bob'],
        );
      });

      it('lists names in byte order whatever the locale (upper case before lower, accents last)', async () => {
        for (const name of ['bob', 'Zed', 'émile', 'alice', 'Alice']) await ctx.store.createUser(user(name));
        assert.deepEqual(
          (await ctx.store.listUsers()).map((u) => u.name),
          ['Alice', 'Zed', 'alice', 'bob', 'émile'],
        );
      });

      it('keeps, sets and clears a session limit, refusing an unknown user', async () => {
        await ctx.store.createUser({ ...user('carol'), maxSessions: 2 });
        assert.equal((await ctx.store.getUser('carol'))?.maxSessions, 2);
        await ctx.store.setUserMaxSessions('carol', 1);
        assert.equal((await ctx.store.getUser('carol'))?.maxSessions, 1);
        await ctx.store.setUserMaxSessions('carol', null);
        assert.equal((await ctx.store.getUser('carol'))?.maxSessions, null);
        await rejectsWithCode(ctx.store.setUserMaxSessions('nobody', 1), 'unknown_user');
      });

      it('refuses a duplicate name with conflict', async () => {
        await ctx.store.createUser(user('alice'));
        await rejectsWithCode(ctx.store.createUser(user('alice')), 'conflict');
      });

      it('changes a password hash, and refuses it for an unknown user', async () => {
        await ctx.store.createUser(user('alice'));
        await ctx.store.setUserPassword('alice', 'new-hash');
        assert.equal((await ctx.store.getUser('alice'))?.passwordHash, 'new-hash');
        await rejectsWithCode(ctx.store.setUserPassword('nobody', 'x'), 'unknown_user');
      });

      it('deletes a user and reports whether it existed', async () => {
        await ctx.store.createUser(user('alice'));
        assert.equal(await ctx.store.deleteUser('alice'), true);
        assert.equal(await ctx.store.deleteUser('alice'), false);
        assert.equal(await ctx.store.getUser('alice'), undefined);
      });
    });

    describe('programs', () => {
      it('creates, reads, lists and deletes programs, keeping null lengths', async () => {
        await ctx.store.createProgram(program('news'));
        await ctx.store.createProgram(program('movie', 5400.5));
        assert.deepEqual(await ctx.store.getProgram('news'), program('news'));
        assert.deepEqual(await ctx.store.getProgram('movie'), program('movie', 5400.5));
        assert.deepEqual(
          (await ctx.store.listPrograms()).map((p) => p.id),
          ['movie', 'news'],
        );
        assert.equal(await ctx.store.deleteProgram('news'), true);
        assert.equal(await ctx.store.deleteProgram('news'), false);
        assert.equal(await ctx.store.getProgram('news'), undefined);
      });

      it('refuses a duplicate id with conflict', async () => {
        await ctx.store.createProgram(program('news'));
        await rejectsWithCode(ctx.store.createProgram(program('news')), 'conflict');
      });

      it('replaces the source public key and erases a held private key; unknown program: unknown_program', async () => {
        await ctx.store.createProgram(program('news'));
        await ctx.store.createProgram(program('sport'));
        await ctx.store.setProgramSourceKey('news', 'pub-new');
        assert.deepEqual(await ctx.store.getProgram('news'), { ...program('news'), sourcePublicKey: 'pub-new', sourcePrivateKey: '' });
        assert.deepEqual(await ctx.store.getProgram('sport'), program('sport'), 'other programs untouched');
        await rejectsWithCode(ctx.store.setProgramSourceKey('nosuch', 'pub-x'), 'unknown_program');
      });
    });

    describe('subscriptions', () => {
      beforeEach(async () => {
        await ctx.store.createUser(user('alice'));
        await ctx.store.createUser(user('bob'));
        await ctx.store.createProgram(program('news'));
        await ctx.store.createProgram(program('sport'));
      });

      it('puts, replaces, reads and filters subscriptions', async () => {
        await ctx.store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 10 });
        await ctx.store.putSubscription({ user: 'alice', program: 'sport', until: 99, createdAt: 11 });
        await ctx.store.putSubscription({ user: 'bob', program: 'news', until: 50, createdAt: 12 });
        await ctx.store.putSubscription({ user: 'bob', program: 'news', until: 77, createdAt: 13 });
        assert.deepEqual(await ctx.store.getSubscription('bob', 'news'), { user: 'bob', program: 'news', until: 77, createdAt: 13, maxSessions: null });
        assert.equal(await ctx.store.getSubscription('bob', 'sport'), undefined);
        assert.equal((await ctx.store.listSubscriptions()).length, 3);
        assert.deepEqual(
          (await ctx.store.listSubscriptions({ user: 'alice' })).map((s) => s.program),
          ['news', 'sport'],
        );
        assert.deepEqual(
          (await ctx.store.listSubscriptions({ program: 'news' })).map((s) => s.user),
          ['alice', 'bob'],
        );
        assert.equal((await ctx.store.listSubscriptions({ user: 'bob', program: 'news' })).length, 1);
      });

      it('keeps a per-subscription session limit, and replaces it on a put', async () => {
        await ctx.store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 10, maxSessions: 3 });
        assert.equal((await ctx.store.getSubscription('alice', 'news'))?.maxSessions, 3);
        await ctx.store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 11 });
        assert.equal((await ctx.store.getSubscription('alice', 'news'))?.maxSessions, null);
      });

      it('refuses a subscription for an unknown user or program', async () => {
        await rejectsWithCode(ctx.store.putSubscription({ user: 'nobody', program: 'news', until: null, createdAt: 1 }), 'unknown_user');
        await rejectsWithCode(ctx.store.putSubscription({ user: 'alice', program: 'nothing', until: null, createdAt: 1 }), 'unknown_program');
      });

      it('deletes a subscription and reports whether it existed', async () => {
        await ctx.store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 10 });
        assert.equal(await ctx.store.deleteSubscription('alice', 'news'), true);
        assert.equal(await ctx.store.deleteSubscription('alice', 'news'), false);
      });

      it('drops subscriptions with their user or program', async () => {
        await ctx.store.putSubscription({ user: 'alice', program: 'news', until: null, createdAt: 10 });
        await ctx.store.putSubscription({ user: 'bob', program: 'sport', until: null, createdAt: 10 });
        await ctx.store.deleteUser('alice');
        await ctx.store.deleteProgram('sport');
        assert.deepEqual(await ctx.store.listSubscriptions(), []);
      });
    });

    sessionStoreSuites(ctx);
  });
}
