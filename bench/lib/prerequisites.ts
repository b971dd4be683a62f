/**
 * The tracker scenario's outside programs, made present or reported absent,
 * so that a fresh machine runs the scenario instead of crashing on it:
 * - wrk (the load generator) and opentracker (a comparison row): Debian
 *   packages, installed with apt-get when the bench runs as root on a machine
 *   that has apt-get;
 * - the npm bittorrent-tracker (a comparison row): installed into bench/vendor
 *   with the command bench/RESULTS.md documents.
 * With `install: false` (`--no-install`) nothing is installed. Whatever is
 * still missing is returned with a note saying how to get it; the scenario
 * then skips that row and writes the note into its JSON and Markdown.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Prerequisite {
  ready: boolean;
  /** How it became ready ("found", "installed with …"), or why it is missing and how to install it. */
  note: string;
}

export interface InstallPolicy {
  install: boolean;
  log: (line: string) => void;
}

const VENDOR_DIR = fileURLToPath(new URL('../vendor/', import.meta.url));
const BT_TRACKER_ENTRY = fileURLToPath(new URL('../vendor/node_modules/bittorrent-tracker/server.js', import.meta.url));
export const VENDOR_INSTALL = 'npm install --prefix bench/vendor --ignore-scripts --no-audit --no-fund';

function runs(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).error === undefined;
}

/** Runs a command with its output on our stderr (stdout stays the result's); true when it exits 0. */
function visibly(command: string, args: string[], cwd?: string): boolean {
  const r = spawnSync(command, args, { stdio: ['ignore', 2, 2], cwd });
  return r.error === undefined && r.status === 0;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * A program from a Debian package: `probe` runs it with harmless arguments
 * (only whether it can be spawned matters, not its exit code).
 */
export function ensureDebianTool(tool: string, pkg: string, probe: string[], policy: InstallPolicy): Prerequisite {
  if (runs(tool, probe)) return { ready: true, note: 'found on PATH' };
  const how = `apt-get install -y ${pkg}`;
  if (!policy.install) return { ready: false, note: `${tool} not installed (--no-install given): ${how}` };
  if (!runs('apt-get', ['--version'])) return { ready: false, note: `${tool} not installed and this machine has no apt-get: install ${pkg} by hand` };
  if (!isRoot()) return { ready: false, note: `${tool} not installed and the bench is not root: sudo ${how}` };
  policy.log(`${tool} is missing: ${how}`);
  // Wait for another apt/dpkg rather than fail at once; a fresh machine may not have package lists yet.
  const install = ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '--no-install-recommends', pkg];
  let ok = visibly('apt-get', install);
  if (!ok) ok = visibly('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'update']) && visibly('apt-get', install);
  if (ok && runs(tool, probe)) return { ready: true, note: `installed with ${how}` };
  return { ready: false, note: `${tool} not installed: \`${how}\` failed (see the bench's stderr)` };
}

export function haveBittorrentTracker(): boolean {
  return existsSync(BT_TRACKER_ENTRY);
}

/** The npm bittorrent-tracker server in bench/vendor (kept out of the main package: see bench/vendor/package.json). */
export function ensureBittorrentTracker(policy: InstallPolicy): Prerequisite {
  if (haveBittorrentTracker()) return { ready: true, note: 'found in bench/vendor' };
  if (!policy.install) return { ready: false, note: `bittorrent-tracker not installed (--no-install given): ${VENDOR_INSTALL}` };
  policy.log(`bittorrent-tracker is missing: ${VENDOR_INSTALL}`);
  const ok = visibly('npm', ['install', '--prefix', VENDOR_DIR, '--ignore-scripts', '--no-audit', '--no-fund']);
  if (ok && haveBittorrentTracker()) return { ready: true, note: `installed with ${VENDOR_INSTALL}` };
  return { ready: false, note: `bittorrent-tracker not installed: \`${VENDOR_INSTALL}\` failed (see the bench's stderr)` };
}
