/** Real control databases for integrity tests: one written by the store, then a page of its `sessions` table overwritten. */
import Database from 'better-sqlite3';
import { closeSync, openSync, writeSync } from 'node:fs';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';

/** A database file made by the store: user `u`, program `p` and `sessions` joined viewer sessions (ids `sid-N-…`). */
export async function buildControlDb(file: string, sessions = 2_000): Promise<void> {
  const store = new SqliteControlStore(file);
  await store.migrate();
  await store.createUser({ name: 'u', passwordHash: 'not-a-hash', isAdmin: false, createdAt: 1 });
  await store.createProgram({
    id: 'p',
    title: 'P',
    bitrateBps: 1_000_000,
    lengthS: null,
    sourcePublicKey: 'k'.repeat(43),
    sourcePrivateKey: '',
    packetsPerPiece: 50,
    createdAt: 1,
  });
  for (let i = 0; i < sessions; i++) {
    await store.createSession({
      id: `sid-${i}-${'x'.repeat(40)}`,
      user: 'u',
      program: 'p',
      role: 'viewer',
      clientKey: 'k'.repeat(43),
      state: 'joined',
      ip: '127.0.0.1',
      port: 1_000 + i,
      trackerId: 'tracker-1',
      createdAt: Date.now(),
      joinedAt: Date.now(),
      endedAt: null,
      endReason: null,
    });
  }
  // Closing the last connection checkpoints the WAL into the file and removes it: every row is in `file` now.
  await store.close();
}

/**
 * Overwrites a leaf page in the middle of the `sessions` table (found with
 * dbstat) with 0x5A bytes: `whole` the page, `tail` only its second half (the
 * page header survives; the cells do not). Returns the page number.
 */
export function corruptSessionsPage(file: string, part: 'whole' | 'tail' = 'whole'): number {
  const db = new Database(file, { readonly: true });
  let pageSize: number;
  let leaves: number[];
  try {
    pageSize = db.pragma('page_size', { simple: true }) as number;
    const rows = db.prepare("SELECT pageno FROM dbstat WHERE name = 'sessions' AND pagetype = 'leaf' ORDER BY pageno").all() as Array<{ pageno: number }>;
    leaves = rows.map((r) => r.pageno);
  } finally {
    db.close();
  }
  if (leaves.length < 3) throw new Error(`sessions has only ${leaves.length} leaf pages: build the database with more rows`);
  const page = leaves[Math.floor(leaves.length / 2)]!;
  const from = part === 'whole' ? 0 : pageSize / 2;
  const fd = openSync(file, 'r+');
  try {
    const junk = Buffer.alloc(pageSize - from, 0x5a);
    writeSync(fd, junk, 0, junk.length, (page - 1) * pageSize + from);
  } finally {
    closeSync(fd);
  }
  return page;
}
