import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { decodeBencode } from '../../src/protocol/announce.js';
import { signAccessToken } from '../../src/protocol/token.js';
import {
  announceHttp,
  announceQuery,
  compactToList,
  failureOf,
  httpGet,
  infoHashOf,
  peerIdOf,
  startRig,
  type Bdict,
  type Rig,
} from './helpers.js';

describe('HTTP announce (BEP 3)', () => {
  let rig: Rig;
  const H = infoHashOf('news');
  before(async () => {
    rig = await startRig();
    // The source binds the swarm to its program.
    const src = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(0), port: 7000, token: await rig.token({ sid: 'src', prg: 'news', role: 'source' }) }));
    assert.equal(failureOf(src), undefined);
    for (let i = 1; i <= 5; i++) {
      const token = await rig.token({ sid: `v${i}`, prg: 'news' });
      const res = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(i), port: 7000 + i, token }));
      assert.equal(failureOf(res), undefined, `viewer ${i}`);
    }
  });
  after(() => rig.close());

  it('answers a bencoded dict with interval and compact peers, never the requester', async () => {
    const token = await rig.token({ sid: 'v6', prg: 'news' });
    const res = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(6), port: 7006, token }));
    assert.equal(res['interval'], 30);
    assert.equal(res['min interval'], 15);
    assert.equal(res['complete'], 1);
    assert.equal(res['incomplete'], 5);
    const peers = compactToList(res['peers']);
    assert.equal(peers.length, 6);
    assert.ok(!peers.includes('127.0.0.1:7006'), 'requester not in its own list');
    assert.deepEqual([...peers].sort(), ['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003', '127.0.0.1:7004', '127.0.0.1:7005']);
    // Announcing again: still not in its own list, now counted.
    const again = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(6), port: 7006, token }));
    assert.ok(!compactToList(again['peers']).includes('127.0.0.1:7006'));
    assert.equal(again['incomplete'], 6);
  });

  it('honours numwant', async () => {
    const token = await rig.token({ sid: 'v1', prg: 'news' });
    for (const n of [0, 1, 3]) {
      const res = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(1), port: 7001, token, extra: `numwant=${n}` }));
      const peers = compactToList(res['peers']);
      assert.equal(peers.length, n, `numwant=${n}`);
      assert.ok(!peers.includes('127.0.0.1:7001'));
    }
  });

  it('gives a list of dicts with peer ids when compact=0', async () => {
    const token = await rig.token({ sid: 'v2', prg: 'news' });
    const res = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(2), port: 7002, token, extra: 'compact=0&numwant=2' }));
    const peers = res['peers'] as Bdict[];
    assert.equal(peers.length, 2);
    for (const p of peers) {
      assert.equal(Buffer.from(p['ip'] as Uint8Array).toString(), '127.0.0.1');
      assert.equal(typeof p['port'], 'number');
      assert.equal((p['peer id'] as Uint8Array).length, 20);
      assert.notEqual(p['port'], 7002);
    }
  });

  it('records the peer with the socket address and reports one join per session', async () => {
    const peers = await rig.tracker.peers(H.toString('hex'));
    const v3 = peers.find((p) => p.sid === 'v3');
    assert.ok(v3);
    assert.equal(v3.ip, '127.0.0.1');
    assert.equal(v3.port, 7003);
    assert.equal(v3.peerId, peerIdOf(3).toString('hex'));
    assert.equal(v3.user, 'user-v3');
    const joins = rig.control.received.items.filter((m) => m.type === 'join' && m.sid === 'v1');
    assert.equal(joins.length, 1, 'v1 announced several times but joined once');
    assert.deepEqual({ ...joins[0], id: undefined, at: undefined }, { type: 'join', id: undefined, sid: 'v1', ip: '127.0.0.1', port: 7001, at: undefined });
  });

  it('event=stopped removes the peer at once and reports its leave', async () => {
    const token = await rig.token({ sid: 'v5', prg: 'news' });
    const res = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(5), port: 7005, token, extra: 'event=stopped' }));
    assert.equal(failureOf(res), undefined);
    assert.ok(!(await rig.tracker.peers(H.toString('hex'))).some((p) => p.sid === 'v5'));
    const leave = await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'v5');
    assert.equal(leave.type === 'leave' && leave.reason, 'stopped');
  });

  it('a stock-like client: raw GET with binary info_hash (high bytes, reserved characters left raw)', async () => {
    // Unreserved bytes go raw and the rest percent-encoded, as libtorrent does.
    const raw = (b: Buffer): string =>
      [...b].map((x) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(x)) ? String.fromCharCode(x) : `%${x.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
    const token = await rig.token({ sid: 'stock', prg: 'news' });
    const port = Number(new URL(rig.base).port);
    const path = `/announce?info_hash=${raw(H)}&peer_id=${raw(peerIdOf(42))}&port=51413&uploaded=0&downloaded=0&left=0&event=started&key=abc&compact=1&numwant=80&token=${token}`;
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => sock.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: Transmission/4.0\r\n\r\n`));
      const chunks: Buffer[] = [];
      sock.on('data', (c) => chunks.push(c));
      sock.on('end', () => resolve(Buffer.concat(chunks)));
      sock.on('error', reject);
    });
    const split = reply.indexOf('\r\n\r\n');
    const head = reply.subarray(0, split).toString();
    assert.match(head, /^HTTP\/1\.[01] 200/);
    assert.match(head, /content-type: text\/plain/i);
    const dict = decodeBencode(reply.subarray(split + 4)) as Bdict;
    assert.equal(failureOf(dict), undefined);
    assert.ok(compactToList(dict['peers']).length >= 5);
    const peers = await rig.tracker.peers(H.toString('hex'));
    assert.ok(peers.some((p) => p.sid === 'stock' && p.port === 51413));
  });

  it('GET / describes the tracker in JSON; unknown paths get a clear 404', async () => {
    const res = await httpGet(`${rig.base}/`);
    assert.equal(res.status, 200);
    const info = JSON.parse(res.body.toString()) as Record<string, unknown>;
    assert.equal(info['service'], 'gatecast tracker');
    assert.equal(info['announce'], rig.announceUrl);
    assert.equal(info['control_link'], 'up');
    const nf = await httpGet(`${rig.base}/nope`);
    assert.equal(nf.status, 404);
    assert.match(nf.body.toString(), /\/announce/);
  });
});

describe('HTTP announce refusals', () => {
  let rig: Rig;
  const H = infoHashOf('sport');
  const q = (token: string | undefined, extra?: string): string => announceQuery({ infoHash: H, peerId: peerIdOf(1), port: 6881, token, extra });
  before(async () => {
    rig = await startRig();
    const src = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(0), port: 7000, token: await rig.token({ sid: 'src', prg: 'sport', role: 'source' }) }));
    assert.equal(failureOf(src), undefined);
  });
  after(() => rig.close());

  it('refuses a missing token', async () => {
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(undefined))), 'access token is required');
  });

  it('refuses a forged token (signed by another key)', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const { token } = await signAccessToken(privateKey, { sub: 'u', sid: 'x', prg: 'sport', role: 'viewer', ckey: 'k' }, rig.clock.now(), 300);
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(token))), 'access token is not valid');
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q('not.a.jwt'))), 'access token is not valid');
  });

  it('refuses an expired token', async () => {
    const token = await rig.token({ sid: 'late', prg: 'sport', ttlS: 10 });
    rig.clock.advance(11_000);
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(token))), 'access token expired');
  });

  it('refuses a token for another program', async () => {
    const token = await rig.token({ sid: 'other', prg: 'movies' });
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(token))), 'access token is for another program');
  });

  it('refuses a revoked session', async () => {
    const token = await rig.token({ sid: 'gone', prg: 'sport' });
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(token))), undefined);
    rig.tracker.revoke('gone');
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(token))), 'session revoked');
    // Nobody is told about a revoked peer.
    const other = await rig.token({ sid: 'watcher', prg: 'sport' });
    const res = await announceHttp(rig.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(9), port: 6999, token: other }));
    assert.ok(!compactToList(res['peers']).includes('127.0.0.1:6881'));
  });

  it('malformed queries get specific failures and the server keeps answering', async () => {
    const token = await rig.token({ sid: 'm', prg: 'sport' });
    const cases: Array<[string, string | RegExp]> = [
      [`info_hash=${'%aa'.repeat(19)}&peer_id=${'%bb'.repeat(20)}&port=1&token=${token}`, 'info_hash must be 20 bytes, got 19'],
      [`peer_id=${'%bb'.repeat(20)}&port=1`, 'info_hash is required'],
      [`info_hash=${'%aa'.repeat(20)}&peer_id=abc&port=1`, 'peer_id must be 20 bytes, got 3'],
      [q(token).replace('port=6881', 'port=abc'), 'port must be an integer from 1 to 65535'],
      [q(token).replace('port=6881', 'port=70000'), 'port must be an integer from 1 to 65535'],
      [q(token, 'event=bogus'), /^event must be/],
      [q(token, 'numwant=-1'), /^numwant must be/],
      [q(token, 'compact=2'), 'compact must be 0 or 1'],
      [`info_hash=%zz&peer_id=x&port=1`, 'info_hash has a malformed percent-encoding'],
      [`${q(token)}&info_hash=${'%aa'.repeat(20)}`, 'info_hash is given more than once'],
      ['%%%&&&===', /malformed percent-encoding|is required/],
      ['', 'info_hash is required'],
    ];
    for (const [query, expected] of cases) {
      const res = await httpGet(`${rig.announceUrl}?${query}`);
      assert.equal(res.status, 200, query);
      const reason = failureOf(decodeBencode(res.body) as Bdict);
      if (typeof expected === 'string') assert.equal(reason, expected, query);
      else assert.match(reason ?? '', expected, query);
    }
    const ok = await announceHttp(rig.announceUrl, q(token));
    assert.equal(failureOf(ok), undefined);
    assert.equal(ok['interval'], 30);
  });

  it('non-GET methods get 405', async () => {
    const res = await fetch(rig.announceUrl, { method: 'POST', body: 'x' });
    assert.equal(res.status, 405);
    assert.match(await res.text(), /GET/);
  });
});

describe('HTTP announce before the control link is up', () => {
  it('refuses with a clear not-ready failure', async () => {
    const rig = await startRig({ welcome: false });
    try {
      const token = await rig.token({ sid: 's', prg: 'p' });
      const res = await announceHttp(rig.announceUrl, announceQuery({ infoHash: infoHashOf('p'), peerId: peerIdOf(1), port: 6881, token }));
      assert.equal(failureOf(res), 'tracker not ready: no control link yet');
      const info = JSON.parse((await httpGet(`${rig.base}/`)).body.toString()) as Record<string, unknown>;
      assert.equal(info['control_link'], 'down');
    } finally {
      await rig.close();
    }
  });
});
