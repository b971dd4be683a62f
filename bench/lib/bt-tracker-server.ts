/**
 * Child process: the npm bittorrent-tracker server (HTTP only) on a loopback
 * port, restricted to the bench's info hashes like the other trackers. It is
 * installed apart, in bench/vendor (see bench/RESULTS.md), and loaded by path.
 * Sends {port} over IPC once listening.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface BtServer {
  on(event: 'listening' | 'error' | 'warning', fn: (err?: Error) => void): void;
  listen(port: number, host: string): void;
  http: { address(): { port: number } | string | null } | null;
}
type BtServerClass = new (opts: Record<string, unknown>) => BtServer;

const entry = new URL('../vendor/node_modules/bittorrent-tracker/server.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('bittorrent-tracker is not installed: npm install --prefix bench/vendor --ignore-scripts --no-audit --no-fund');
  process.exit(1);
}
const Server = ((await import(entry.href)) as { default: BtServerClass }).default;

const allowed = new Set(JSON.parse(process.argv[2] ?? '[]') as string[]);
const server = new Server({
  udp: false,
  ws: false,
  http: true,
  stats: false,
  filter: (infoHash: string, _params: unknown, cb: (err: Error | null) => void) =>
    cb(allowed.has(infoHash) ? null : new Error('unknown info hash')),
});
server.on('error', (err) => {
  console.error(`bittorrent-tracker: ${err?.message ?? 'error'}`);
  process.exit(1);
});
server.on('warning', () => undefined);
server.on('listening', () => {
  const addr = server.http?.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});
server.listen(0, '127.0.0.1');
process.on('disconnect', () => process.exit(0));
