import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compactPeers,
  decodeBencode,
  encodeAnnounceSuccess,
  encodeFailure,
  encodeScrape,
  parseAnnounceQuery,
  parseScrapeQuery,
  percentDecodeBytes,
} from '../../src/protocol/announce.js';
import { ClientError } from '../../src/core/errors.js';

/** The generic encoder, to spell out the expected answer. */
interface Bencode {
  encode(value: unknown): Uint8Array;
}
const bencodeModule: string = 'bencode';
const bencode = ((await import(bencodeModule)) as { default: Bencode }).default;

const HASH = Buffer.from('00ff7f80c3a92b2f253f3d26207e2e5f2d61ffee', 'hex');
const PID = Buffer.from('-qB4650-', 'latin1');

function mixed(b: Buffer): string {
  // Raw where unreserved, %XX elsewhere, mixing upper- and lowercase hex digits.
  return [...b]
    .map((x, i) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(x)) ? String.fromCharCode(x) : `%${(i % 2 ? x.toString(16) : x.toString(16).toUpperCase()).padStart(2, '0')}`))
    .join('');
}

describe('announce query parsing', () => {
  it('keeps percent-encoded binary intact (no utf-8 decoding)', () => {
    const peerId = Buffer.concat([PID, Buffer.from('abcdef012345')]);
    const req = parseAnnounceQuery(`info_hash=${mixed(HASH)}&peer_id=${mixed(peerId)}&port=6881&uploaded=10&downloaded=20&left=0&event=started&numwant=5&token=a.b.c`);
    assert.equal(req.infoHash, HASH.toString('hex'));
    assert.equal(req.peerId, peerId.toString('hex'));
    assert.deepEqual(
      { port: req.port, uploaded: req.uploaded, downloaded: req.downloaded, left: req.left, event: req.event, numwant: req.numwant, token: req.token, compact: req.compact },
      { port: 6881, uploaded: 10, downloaded: 20, left: 0, event: 'started', numwant: 5, token: 'a.b.c', compact: true },
    );
  });

  it('defaults: compact, no event, no numwant, no token, left unknown', () => {
    const req = parseAnnounceQuery(`info_hash=${mixed(HASH)}&peer_id=${'%41'.repeat(20)}&port=1`);
    assert.equal(req.compact, true);
    assert.equal(req.event, null);
    assert.equal(req.numwant, null);
    assert.equal(req.token, null);
    assert.equal(req.left, null);
    assert.equal(req.uploaded, 0);
  });

  it('rejects bad input with specific invalid_request errors', () => {
    const ok = `info_hash=${mixed(HASH)}&peer_id=${'%41'.repeat(20)}`;
    const cases: Array<[string, string]> = [
      [`${ok}`, 'port is required'],
      [`${ok}&port=0`, 'port must be an integer from 1 to 65535'],
      [`${ok}&port=1.5`, 'port must be an integer from 1 to 65535'],
      [`${ok}&port=1&uploaded=-3`, 'uploaded must be an integer from 0 to 9007199254740991'],
      [`${ok}&port=1&numwant=abc`, 'numwant must be an integer from 0 to 100000'],
      [`${ok}&port=1&compact=yes`, 'compact must be 0 or 1'],
      [`info_hash=${'%aa'.repeat(21)}&peer_id=${'%41'.repeat(20)}&port=1`, 'info_hash must be 20 bytes, got 21'],
      [`info_hash=%a&peer_id=x&port=1`, 'info_hash has a malformed percent-encoding'],
      ['x'.repeat(9000), 'query string over 8192 bytes'],
    ];
    for (const [q, message] of cases) {
      assert.throws(() => parseAnnounceQuery(q), (err: unknown) => err instanceof ClientError && err.code === 'invalid_request' && err.message === message, q.slice(0, 80));
    }
    assert.throws(() => parseAnnounceQuery(`info_hash=${'\u20ac'.repeat(20)}&peer_id=x&port=1`), /not percent-encoded/);
  });

  it('decodes text values as utf-8 and leaves plain ones as they are', () => {
    const req = parseAnnounceQuery(`info_hash=${mixed(HASH)}&peer_id=${'%41'.repeat(20)}&port=1&token=caf%C3%A9+x&event=stopped`);
    assert.equal(req.token, 'café x');
    assert.equal(req.event, 'stopped');
    const plain = parseAnnounceQuery(`info_hash=${mixed(HASH)}&peer_id=${'%41'.repeat(20)}&port=1&token=eyJ.a-b_c.d`);
    assert.equal(plain.token, 'eyJ.a-b_c.d');
    // The decoding space is shared between parses: one parse leaves nothing behind in the next.
    assert.equal(parseAnnounceQuery(`info_hash=${'%01'.repeat(20)}&peer_id=${'%02'.repeat(20)}&port=1`).infoHash, '01'.repeat(20));
  });

  it("'+' is a space byte, as in form encoding", () => {
    assert.deepEqual([...percentDecodeBytes('a+%2B', 'x')], [0x61, 0x20, 0x2b]);
  });

  it('scrape takes several info hashes', () => {
    const other = Buffer.alloc(20, 7);
    const req = parseScrapeQuery(`info_hash=${mixed(HASH)}&info_hash=${mixed(other)}&token=t`);
    assert.deepEqual(req, { infoHashes: [HASH.toString('hex'), other.toString('hex')], token: 't' });
  });
});

describe('announce response encoding', () => {
  const peers = [
    { peerId: 'aa'.repeat(20), ip: '10.1.2.3', port: 6881 },
    { peerId: 'bb'.repeat(20), ip: '2001:db8::1', port: 443 },
    { peerId: 'cc'.repeat(20), ip: '192.168.0.255', port: 65535 },
  ];

  it('compact: 6 bytes per IPv4 peer in peers, 18 per IPv6 peer in peers6', () => {
    const { peers: v4, peers6 } = compactPeers(peers);
    assert.equal(v4.toString('hex'), '0a010203' + '1ae1' + 'c0a800ff' + 'ffff');
    assert.equal(peers6.toString('hex'), '20010db8000000000000000000000001' + '01bb');
    const dict = decodeBencode(encodeAnnounceSuccess({ interval: 30, minInterval: 15, complete: 1, incomplete: 2, peers, compact: true, noPeerId: false })) as Record<string, unknown>;
    assert.equal(dict['interval'], 30);
    assert.equal(dict['min interval'], 15);
    assert.equal(dict['complete'], 1);
    assert.equal(dict['incomplete'], 2);
    assert.equal(Buffer.from(dict['peers'] as Uint8Array).length, 12);
    assert.equal(Buffer.from(dict['peers6'] as Uint8Array).length, 18);
  });

  it('a compact answer holds exactly interval, min interval, complete, incomplete and peers, plus peers6 only with IPv6 peers', () => {
    const cases = [peers, peers.filter((p) => !p.ip.includes(':')), [], peers.slice(1, 2)];
    for (const list of cases) {
      const res = { interval: 1800, minInterval: 900, complete: 12, incomplete: 34_567, peers: list, compact: true, noPeerId: false };
      const { peers: v4, peers6 } = compactPeers(list);
      const base = { interval: 1800, 'min interval': 900, complete: 12, incomplete: 34_567, peers: v4 };
      const expected = bencode.encode(peers6.length > 0 ? { ...base, peers6 } : base);
      assert.deepEqual(Buffer.from(encodeAnnounceSuccess(res)), Buffer.from(expected), `${list.length} peers`);
    }
  });

  it('compact: IPv4 text with leading zeros still packs; anything else is left out', () => {
    const { peers: v4, peers6 } = compactPeers([
      { peerId: '', ip: '010.001.002.003', port: 1 },
      { peerId: '', ip: '1.2.3', port: 2 },
      { peerId: '', ip: '1.2.3.256', port: 3 },
      { peerId: '', ip: 'host.example', port: 4 },
    ]);
    assert.equal(v4.toString('hex'), '0a010203' + '0001');
    assert.equal(peers6.length, 0);
  });

  it('non-compact: a list of dicts, with peer id unless no_peer_id', () => {
    const raw = decodeBencode(encodeAnnounceSuccess({ interval: 30, minInterval: 15, complete: 0, incomplete: 1, peers: peers.slice(0, 1), compact: false, noPeerId: false })) as Record<string, unknown>;
    const first = (raw['peers'] as Array<Record<string, unknown>>)[0] ?? {};
    assert.equal(Buffer.from(first['ip'] as Uint8Array).toString(), '10.1.2.3');
    assert.equal(first['port'], 6881);
    assert.equal(Buffer.from(first['peer id'] as Uint8Array).toString('hex'), 'aa'.repeat(20));
    const anon = decodeBencode(encodeAnnounceSuccess({ interval: 30, minInterval: 15, complete: 0, incomplete: 1, peers: peers.slice(0, 1), compact: false, noPeerId: true })) as Record<string, unknown>;
    assert.equal((anon['peers'] as Array<Record<string, unknown>>)[0]?.['peer id'], undefined);
  });

  it('failure is a dict with only the reason', () => {
    assert.equal(Buffer.from(encodeFailure('access token expired')).toString(), 'd14:failure reason20:access token expirede');
  });

  it('scrape keys are raw hashes in byte order', () => {
    const a = 'ff'.repeat(20);
    const b = '01'.repeat(20);
    const bytes = Buffer.from(encodeScrape([{ infoHash: a, complete: 1, incomplete: 2, downloaded: 0 }, { infoHash: b, complete: 0, incomplete: 5, downloaded: 0 }]));
    assert.ok(bytes.indexOf(Buffer.from(b, 'hex')) < bytes.indexOf(Buffer.from(a, 'hex')));
    const dict = decodeBencode(bytes) as { files: Record<string, Record<string, number>> };
    assert.equal(Object.keys(dict.files).length, 2);
    assert.deepEqual(Object.values(dict.files).map((f) => f['incomplete']).sort(), [2, 5]);
  });
});
