/**
 * `gatecast admin`: the operator's console over the control server's admin
 * API — users, programs, subscriptions, the list of clients in the system,
 * and ending sessions (kick, disconnects).
 * Authenticates as `admin` with GATECAST_ADMIN_PASSWORD. Exit codes: 0 done,
 * 1 the server refused or could not be reached, 2 bad usage or environment.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ClientError } from '../core/errors.js';
import { parseIsoDate } from '../control/dates.js';
import type { ClientTrust } from '../core/ports.js';
import { CA_HELP } from './common.js';
import { loadTrust } from './trust.js';
import { defaultSourceKeyPath, newSourceKeyFile } from './source-key-file.js';
import { adminClient, type AdminClient } from './control-client.js';
import { configDir, LoginStore } from './login-store.js';
import { disconnectTable, kickLine, sessionTable, shortTime, table } from './admin-format.js';
import type { DisconnectView } from './control-client.js';
import type { DeviceCredential } from '../protocol/control-api.js';
import { registerTrackerCredentialCommands } from './admin-trackers.js';

export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:8700';

/** Where the command writes and what it reads; tests pass their own. */
export interface AdminIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  setExitCode(code: number): void;
}

const processIo: AdminIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  env: process.env,
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

class UsageError extends Error {}

/** The selected control server and the admin's credentials, for commands with clients of their own (admin-trackers.ts). */
export interface AdminConnection {
  url: string;
  auth: string | DeviceCredential;
  trust: ClientTrust;
}

/** Runs an admin command's body against the selected control server, mapping failures to messages and exit codes. */
export type AdminRun = (cmd: Command, fn: (client: AdminClient, url: string, conn: AdminConnection) => Promise<void>) => Promise<void>;

function controlUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value.replace(/\/+$/, '');
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`expected an http(s) URL, got ${JSON.stringify(value)}`);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function registerAdminCommand(program: Command, io: AdminIo = processIo): void {
  const admin = program
    .command('admin')
    .description('manage users, programs and subscriptions, and list sessions, on a control server')
    .option('--control <url>', `control server base URL (env GATECAST_CONTROL, default ${DEFAULT_CONTROL_URL})`, controlUrl)
    .option('--ca <file>', CA_HELP);

  /** Runs `fn` with a client for the selected control server and maps failures to messages and exit codes. */
  const run: AdminRun = async (cmd, fn) => {
    try {
      const flags = cmd.optsWithGlobals<{ control?: string; ca?: string }>();
      let trust: ClientTrust;
      try {
        trust = loadTrust(flags.ca);
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
      }
      const envUrl = io.env['GATECAST_CONTROL'];
      const url = flags.control ?? (envUrl ? controlUrl(envUrl) : DEFAULT_CONTROL_URL);
      const password = io.env['GATECAST_ADMIN_PASSWORD'];
      // Without the password, an admin's device login (gatecast login --user admin) will do.
      const login = password ? undefined : new LoginStore(configDir(io.env)).get(url);
      if (!password && !login) {
        throw new UsageError(`GATECAST_ADMIN_PASSWORD is not set and this device is not logged in at ${url}: set it, or run gatecast login --control ${url} --user admin`);
      }
      const auth = password ? password : { device: login?.device ?? '', secret: login?.secret ?? '' };
      await fn(adminClient(url, auth, 'admin', trust), url, { url, auth, trust });
    } catch (err) {
      if (err instanceof ClientError) {
        io.err(`error: ${err.message} (${err.code})\n`);
        io.setExitCode(1);
      } else if (err instanceof UsageError || err instanceof InvalidArgumentError) {
        io.err(`error: ${err.message}\n`);
        io.setExitCode(2);
      } else {
        io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
        io.setExitCode(1);
      }
    }
  };

  const users = admin.command('users').description('customer accounts');
  users
    .command('add <name>')
    .description('create a user')
    .requiredOption('--password <pw>', "the user's password")
    .option('--max-sessions <n>', 'devices the user may watch on at once (default: no limit)', positiveInt)
    .action((name: string, flags: { password: string; maxSessions?: number }, cmd: Command) =>
      run(cmd, async (c) => {
        await c.addUser(name, flags.password, flags.maxSessions);
        io.out(`added user ${name}${flags.maxSessions === undefined ? '' : ` (at most ${plural(flags.maxSessions, 'session')} at once)`}\n`);
      }),
    );
  users
    .command('set <name>')
    .description("change a user's settings")
    .requiredOption('--max-sessions <n|none>', "devices the user may watch on at once ('none': no limit of the user's own)", (v: string) =>
      v === 'none' ? null : positiveInt(v),
    )
    .action((name: string, flags: { maxSessions: number | null }, cmd: Command) =>
      run(cmd, async (c) => {
        const u = await c.setUserMaxSessions(name, flags.maxSessions);
        io.out(`${name}: ${u.max_sessions === null ? 'no session limit of its own' : `at most ${plural(u.max_sessions, 'session')} at once`} (from the next sign-in)\n`);
      }),
    );
  users
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action((flags: { json?: boolean }, cmd: Command) =>
      run(cmd, async (c) => {
        const list = await c.listUsers();
        io.out(flags.json ? json(list) : table(['USER', 'ADMIN', 'CREATED'], list.map((u) => [u.name, u.is_admin ? 'yes' : 'no', shortTime(u.created_at)])));
      }),
    );
  users
    .command('remove <name>')
    .description('delete a user and their subscriptions')
    .action((name: string, _flags: unknown, cmd: Command) =>
      run(cmd, async (c) => {
        await c.removeUser(name);
        io.out(`removed user ${name}\n`);
      }),
    );

  users
    .command('logout-all <name>')
    .description("sign a user out everywhere: revoke every device login and end the user's open sessions")
    .action((name: string, _flags: unknown, cmd: Command) =>
      run(cmd, async (c) => {
        const r = await c.logoutAll(name);
        io.out(`signed ${name} out: ${plural(r.devices_revoked, 'device login')} revoked, ${plural(r.disconnects.length, 'session')} ending\n`);
      }),
    );

  const programs = admin.command('programs').description('programs (channels)');
  programs
    .command('add <id>')
    .description('create a program; its source signing key is made here and kept in a file for the broadcaster (the server gets the public key only)')
    .requiredOption('--title <title>', 'title shown to viewers')
    .option('--bitrate <bps>', 'stream bitrate in bits/s', positiveInt)
    .option('--length <s>', 'length in seconds (omit for a live program with no planned end)', positiveNumber)
    .option('--source-key-out <file>', 'where to keep the private source key (default: the config directory, where broadcast looks)')
    .action((id: string, flags: { title: string; bitrate?: number; length?: number; sourceKeyOut?: string }, cmd: Command) =>
      run(cmd, async (c, url) => {
        const base = { id, title: flags.title, bitrate_bps: flags.bitrate, length_s: flags.length ?? null };
        const path = flags.sourceKeyOut ?? defaultSourceKeyPath(url, id, io.env);
        const key = newSourceKeyFile(path);
        let p: Awaited<ReturnType<AdminClient['addProgram']>>;
        try {
          p = await c.addProgram({ ...base, source_key: key.publicKey });
        } catch (err) {
          key.discard();
          throw err;
        }
        key.commit();
        io.out(`added program ${p.id} (info hash ${p.info_hash}, source key ${p.source_key})\nsource signing key saved to ${path}: gatecast broadcast needs it\n`);
      }),
    );
  programs
    .command('rekey <id>')
    .description("give a program a new source signing key, made here (run it where the broadcaster runs); the info hash changes and the program's open sessions end")
    .option('--source-key-out <file>', 'where to keep the private source key (default: the config directory, where broadcast looks)')
    .action((id: string, flags: { sourceKeyOut?: string }, cmd: Command) =>
      run(cmd, async (c, url) => {
        const path = flags.sourceKeyOut ?? defaultSourceKeyPath(url, id, io.env);
        const key = newSourceKeyFile(path);
        let p: Awaited<ReturnType<AdminClient['rekeyProgram']>>;
        try {
          p = await c.rekeyProgram(id, key.publicKey);
        } catch (err) {
          key.discard();
          throw err;
        }
        key.commit();
        io.out(
          `rekeyed program ${p.id}: new source key ${p.source_key}, new info hash ${p.info_hash} (the old one is gone: its open sessions end, viewers join again)\n` +
            `the control server holds no private key for it; source signing key saved to ${path}: gatecast broadcast needs it\n`,
        );
      }),
    );
  programs
    .command('list')
    .description('list programs')
    .option('--json', 'print JSON')
    .action((flags: { json?: boolean }, cmd: Command) =>
      run(cmd, async (c) => {
        const list = await c.listPrograms();
        io.out(
          flags.json
            ? json(list)
            : table(
                ['PROGRAM', 'TITLE', 'BITRATE', 'LENGTH', 'INFO HASH'],
                list.map((p) => [p.id, p.title, String(p.bitrate_bps), p.length_s === null ? 'live' : `${p.length_s}s`, p.info_hash]),
              ),
        );
      }),
    );
  programs
    .command('remove <id>')
    .description('delete a program and its subscriptions')
    .action((id: string, _flags: unknown, cmd: Command) =>
      run(cmd, async (c) => {
        await c.removeProgram(id);
        io.out(`removed program ${id}\n`);
      }),
    );

  admin
    .command('grant <user> <program>')
    .description("subscribe a user to a program (replaces an existing subscription's expiry)")
    .option('--until <date>', 'ISO 8601 date or date-time the subscription ends (default: never)')
    .option('--max-sessions <n>', "devices the user may watch this program on at once (overrides the user's limit)", positiveInt)
    .action((user: string, prog: string, flags: { until?: string; maxSessions?: number }, cmd: Command) =>
      run(cmd, async (c) => {
        if (flags.until !== undefined && parseIsoDate(flags.until) === undefined) {
          throw new UsageError(`--until: not an ISO 8601 date: ${JSON.stringify(flags.until)} (e.g. 2025-12-31 or 2025-12-31T18:00:00Z)`);
        }
        const sub = await c.grant(user, prog, flags.until ?? null, flags.maxSessions);
        io.out(`granted ${user} access to ${prog} ${sub.until === null ? 'with no expiry' : `until ${sub.until}`}\n`);
      }),
    );
  admin
    .command('revoke <user> <program>')
    .description("end a user's subscription to a program")
    .action((user: string, prog: string, _flags: unknown, cmd: Command) =>
      run(cmd, async (c) => {
        const ended = await c.revoke(user, prog);
        io.out(`revoked ${user}'s access to ${prog}; ${plural(ended.length, 'running session')} told to end\n`);
        for (const d of ended) io.out(kickLine(d));
      }),
    );
  admin
    .command('subscriptions')
    .description('list subscriptions')
    .option('--json', 'print JSON')
    .action((flags: { json?: boolean }, cmd: Command) =>
      run(cmd, async (c) => {
        const list = await c.listSubscriptions();
        io.out(
          flags.json
            ? json(list)
            : table(
                ['USER', 'PROGRAM', 'UNTIL', 'ACTIVE'],
                list.map((s) => [s.user, s.program, s.until === null ? 'never' : shortTime(s.until), s.active ? 'yes' : 'no']),
              ),
        );
      }),
    );
  admin
    .command('kick <target>')
    .description("end one session (TARGET is a session id) or every open session of a user (TARGET is a user name)")
    .option('--reason <text>', 'why, shown to the viewer')
    .action((target: string, flags: { reason?: string }, cmd: Command) =>
      run(cmd, async (c) => {
        if (flags.reason !== undefined && (flags.reason.length === 0 || flags.reason.length > 500)) {
          throw new UsageError('--reason: expected 1 to 500 characters');
        }
        let list: DisconnectView[];
        let what: string;
        try {
          list = await c.kick({ session: target }, flags.reason);
          what = `session ${target}`;
        } catch (err) {
          if (!(err instanceof ClientError && err.code === 'unknown_session')) throw err;
          try {
            list = await c.kick({ user: target }, flags.reason);
          } catch (userErr) {
            if (userErr instanceof ClientError && userErr.code === 'unknown_user') {
              throw new ClientError('not_found', `no session or user named ${target}`);
            }
            throw userErr;
          }
          what = `user ${target}`;
        }
        io.out(`kicked ${what}: ${plural(list.length, 'session')} told to end\n`);
        for (const d of list) io.out(kickLine(d));
      }),
    );
  admin
    .command('disconnects')
    .description('list disconnects (newest first) with the timeline of each chain')
    .option('--json', 'print JSON')
    .option('--pending', 'only those not completed yet')
    .option('--limit <n>', 'at most this many (default 100)', positiveInt)
    .action((flags: { json?: boolean; pending?: boolean; limit?: number }, cmd: Command) =>
      run(cmd, async (c) => {
        const list = await c.listDisconnects({ pending: flags.pending === true, limit: flags.limit });
        io.out(flags.json ? json(list) : disconnectTable(list));
      }),
    );
  admin
    .command('sessions')
    .description('list the clients in the system (open sessions; --all includes ended ones)')
    .option('--json', 'print JSON')
    .option('--all', 'include ended sessions')
    .action((flags: { json?: boolean; all?: boolean }, cmd: Command) =>
      run(cmd, async (c) => {
        const list = await c.listSessions({ all: flags.all === true });
        io.out(flags.json ? json(list) : sessionTable(list));
      }),
    );
  registerTrackerCredentialCommands(admin, run, io);
}
