/**
 * The SwarmStore compliance suite: every adapter (memory, Redis) runs it, so
 * the tracker can rely on the same behaviour from each.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { SwarmPeer, SwarmStore } from '../../src/core/ports.js';

const H1 = 'a'.repeat(40);
const H2 = 'b'.repeat(40);

function peer(sid: string, over: Partial<SwarmPeer> = {}): SwarmPeer {
  return {
    sid,
    user: `user-${sid}`,
    peerId: sid.padEnd(40, '0').slice(0, 40).replace(/[^0-9a-f]/g, '0'),
    ip: '10.0.0.1',
    port: 6881,
    role: 'viewer',
    lastSeen: 1_000,
    ...over,
  };
}

export function runSwarmStoreSuite(name: string, make: () => SwarmStore | Promise<SwarmStore>): void {
  describe(`SwarmStore compliance: ${name}`, () => {
    let store: SwarmStore;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it('put reports whether the peer is new and get returns it', async () => {
      assert.equal(await store.put(H1, peer('s1')), true);
      assert.equal(await store.put(H1, peer('s1', { port: 7000, lastSeen: 2_000 })), false);
      assert.deepEqual(await store.get(H1, 's1'), peer('s1', { port: 7000, lastSeen: 2_000 }));
      assert.equal(await store.get(H1, 'nobody'), undefined);
      assert.equal(await store.get(H2, 's1'), undefined);
    });

    it('returned peers are copies: mutating them does not change the store', async () => {
      await store.put(H1, peer('s1'));
      const got = await store.get(H1, 's1');
      assert.ok(got);
      got.port = 1;
      assert.equal((await store.get(H1, 's1'))?.port, 6881);
    });

    it('remove deletes one peer and says whether it was there', async () => {
      await store.put(H1, peer('s1'));
      await store.put(H1, peer('s2'));
      assert.equal(await store.remove(H1, 's1'), true);
      assert.equal(await store.remove(H1, 's1'), false);
      assert.equal(await store.remove(H2, 's2'), false);
      assert.deepEqual((await store.list(H1)).map((p) => p.sid), ['s2']);
    });

    it('swarms are separate', async () => {
      await store.put(H1, peer('s1'));
      await store.put(H2, peer('s2'));
      assert.deepEqual((await store.list(H1)).map((p) => p.sid), ['s1']);
      assert.deepEqual((await store.list(H2)).map((p) => p.sid), ['s2']);
      assert.deepEqual(await store.list('c'.repeat(40)), []);
    });

    it('sample returns at most n distinct peers and never the excluded sid', async () => {
      for (let i = 0; i < 50; i++) await store.put(H1, peer(`s${i}`));
      for (const n of [0, 1, 5, 24, 30, 49, 50, 80]) {
        const got = await store.sample(H1, n, 's7');
        const sids = got.map((p) => p.sid);
        assert.equal(got.length, Math.min(n, 49), `n=${n}`);
        assert.equal(new Set(sids).size, sids.length, 'distinct');
        assert.ok(!sids.includes('s7'), 'requester excluded');
      }
      assert.equal((await store.sample(H1, 100, null)).length, 50);
      assert.deepEqual(await store.sample(H2, 10, null), []);
    });

    it('sample is random: repeated small samples cover the swarm', async () => {
      for (let i = 0; i < 20; i++) await store.put(H1, peer(`s${i}`));
      const seen = new Set<string>();
      for (let k = 0; k < 200; k++) for (const p of await store.sample(H1, 2, null)) seen.add(p.sid);
      assert.equal(seen.size, 20);
    });

    it('count tells sources (seeders) from viewers (leechers)', async () => {
      await store.put(H1, peer('src', { role: 'source' }));
      await store.put(H1, peer('v1'));
      await store.put(H1, peer('v2'));
      assert.deepEqual(await store.count(H1), { seeders: 1, leechers: 2 });
      await store.put(H1, peer('v2', { role: 'source' }));
      assert.deepEqual(await store.count(H1), { seeders: 2, leechers: 1 });
      await store.remove(H1, 'src');
      assert.deepEqual(await store.count(H1), { seeders: 1, leechers: 1 });
      assert.deepEqual(await store.count(H2), { seeders: 0, leechers: 0 });
    });

    it('expire removes and returns exactly the peers last seen before the cutoff', async () => {
      await store.put(H1, peer('old1', { lastSeen: 100 }));
      await store.put(H1, peer('new1', { lastSeen: 500 }));
      await store.put(H2, peer('old2', { lastSeen: 499 }));
      const gone = await store.expire(500);
      assert.deepEqual(
        gone.map((g) => `${g.infoHash.slice(0, 1)}:${g.peer.sid}`).sort(),
        ['a:old1', 'b:old2'],
      );
      assert.deepEqual((await store.list(H1)).map((p) => p.sid), ['new1']);
      assert.deepEqual(await store.list(H2), []);
      assert.deepEqual(await store.expire(500), []);
    });

    it('reads back every peer exactly as put: IPv6, unusual address text, any peer id text', async () => {
      const odd = [
        peer('v6', { ip: '2001:db8::1', port: 443 }),
        peer('mapped', { ip: '::ffff:10.0.0.1' }),
        peer('zeros', { ip: '010.000.000.001' }),
        peer('upper', { peerId: 'AB'.repeat(20) }),
        peer('short', { peerId: 'abc' }),
        peer('edges', { ip: '255.255.255.255', port: 65535, lastSeen: 1_700_000_000_123.5 }),
        peer('zero', { ip: '0.0.0.0', port: 0, lastSeen: 0 }),
      ];
      for (const p of odd) await store.put(H1, p);
      for (const p of odd) assert.deepEqual(await store.get(H1, p.sid), p);
      // Overwriting an unusual peer with a usual one (and back) leaves no trace of the old fields.
      await store.put(H1, peer('v6'));
      assert.deepEqual(await store.get(H1, 'v6'), peer('v6'));
      await store.put(H1, peer('v6', { ip: '::1' }));
      assert.deepEqual(await store.get(H1, 'v6'), peer('v6', { ip: '::1' }));
      assert.deepEqual(
        (await store.list(H1)).sort((a, b) => a.sid.localeCompare(b.sid)),
        [...odd.filter((p) => p.sid !== 'v6'), peer('v6', { ip: '::1' })].sort((a, b) => a.sid.localeCompare(b.sid)),
      );
    });

    it('grows and shrinks a large swarm without losing or mixing up peers', async () => {
      const n = 2_000;
      const mk = (i: number): SwarmPeer =>
        peer(`p${i}`, { ip: `10.${(i >> 8) & 255}.${i & 255}.7`, port: 1024 + i, lastSeen: i, role: i % 10 === 0 ? 'source' : 'viewer' });
      for (let i = 0; i < n; i++) assert.equal(await store.put(H1, mk(i)), true);
      assert.deepEqual(await store.count(H1), { seeders: n / 10, leechers: n - n / 10 });
      const all = (await store.list(H1)).sort((a, b) => a.port - b.port);
      assert.deepEqual(all, Array.from({ length: n }, (_, i) => mk(i)));
      for (let i = 0; i < n; i++) if (i % 50 !== 0) assert.equal(await store.remove(H1, `p${i}`), true);
      const left = Array.from({ length: n / 50 }, (_, k) => mk(k * 50));
      for (const p of left) assert.deepEqual(await store.get(H1, p.sid), p);
      assert.equal(await store.get(H1, 'p1'), undefined);
      assert.deepEqual(await store.count(H1), { seeders: left.filter((p) => p.role === 'source').length, leechers: left.filter((p) => p.role === 'viewer').length });
      const gone = await store.expire(1_000);
      assert.deepEqual(gone.map((g) => g.peer.sid).sort(), left.filter((p) => p.lastSeen < 1_000).map((p) => p.sid).sort());
      assert.deepEqual((await store.list(H1)).map((p) => p.sid).sort(), left.filter((p) => p.lastSeen >= 1_000).map((p) => p.sid).sort());
    });

    it('stays consistent through many interleaved puts and removes', async () => {
      const live = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const sid = `s${(i * 7) % 40}`;
        if (live.has(sid) && i % 3 === 0) {
          assert.equal(await store.remove(H1, sid), true);
          live.delete(sid);
        } else {
          assert.equal(await store.put(H1, peer(sid, { lastSeen: i })), !live.has(sid));
          live.add(sid);
        }
      }
      assert.deepEqual((await store.list(H1)).map((p) => p.sid).sort(), [...live].sort());
      assert.deepEqual(await store.count(H1), { seeders: 0, leechers: live.size });
      for (const sid of live) assert.equal((await store.get(H1, sid))?.sid, sid);
    });
  });
}
