/**
 * `gatecast control`: runs the control server on a SQLite file or a PostgreSQL
 * database. Wiring only:
 * flags and environment → store → createControlServer → listen → signals.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { pino } from 'pino';
import { fail, intOption, readTlsFlags } from './common.js';
import { DEFAULTS } from '../core/config.js';
import { createControlServer, DEFAULT_DISCONNECT_RETRY_MS, DEFAULT_EXPIRY_CHECK_MS } from '../control/index.js';
import { systemClock } from '../protocol/system-clock.js';
import { DatabaseUnavailableError, redactUrl } from '../store/pg-errors.js';
import { DatabaseCorruptError, isCorruption } from '../store/sqlite-errors.js';
import { DB_FLAG_HELP, isPostgresUrl, openControlStore, type OpenedControlStore } from './control-store.js';
import { EXIT } from './exit-codes.js';
import { ControlMetrics } from '../control/metrics.js';
import { METRICS_TOKEN_HELP, processRegistry, readMetricsToken } from './metrics-flags.js';
import { webServerFactory } from './web-server.js';

/** The refusal to serve from a damaged database: what is wrong, with which file, and what to do. */
function corruptMessage(file: string, problems: readonly string[]): string {
  const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
  return (
    `the control database ${file} is damaged (${shown}); refusing to start rather than serve with unreadable rows.\n` +
    `Stop anything else using it, keep a copy of the damaged file (with its -wal), then restore the latest backup ` +
    `(or salvage what is readable: sqlite3 ${file} .recover | sqlite3 recovered.db, and start with --db recovered.db). ` +
    'See "Damaged database" in docs/OPERATIONS.md.'
  );
}

/** The refusal to start without the PostgreSQL database: which URL (no password), why, and what to check. */
function unavailableMessage(err: DatabaseUnavailableError): string {
  return (
    `${err.message}; refusing to start without the control database.\n` +
    (err.refused
      ? 'The server answered but refused: check the user, the password (PGPASSWORD or ~/.pgpass), the database name and pg_hba.conf.'
      : 'Check that PostgreSQL is running and listening there (pg_isready -h HOST -p PORT).') +
    ' See "PostgreSQL" in docs/OPERATIONS.md.'
  );
}

interface ControlFlags {
  port: number;
  host: string;
  db: string;
  tokenTtl?: number;
  disconnectRetry?: number;
  expiryCheck?: number;
  tlsCert?: string;
  tlsKey?: string;
  onLimit: 'replace-oldest' | 'refuse';
  maxSessions?: number;
  metricsToken?: string;
  instanceId?: string;
  /** commander's --no-shared-tracker-secret: false when given. */
  sharedTrackerSecret: boolean;
}

/** --instance-id: letters, digits, '.', '_', '-' (it appears in logs and in the database's lease and directory rows). */
function instanceIdOption(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(value)) throw new InvalidArgumentError("expected 1 to 64 letters, digits, '.', '_' or '-'");
  return value;
}


export function registerControlCommand(program: Command): void {
  program
    .command('control')
    .description('run the control server: customer database, admission, tokens, the list of clients in the system')
    .option('--port <port>', 'port to listen on', intOption(0, 65535), 8700)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--db <path|url>', DB_FLAG_HELP, './gatecast-control.db')
    .option('--token-ttl <s>', `access token lifetime in seconds (default ${DEFAULTS.tokenTtlS})`, intOption(10, 86_400))
    .option('--disconnect-retry <ms>', `resend period of an unacked disconnect command (default ${DEFAULT_DISCONNECT_RETRY_MS})`, intOption(10, 600_000))
    .option('--expiry-check <ms>', `how often sessions are checked against their subscriptions (default ${DEFAULT_EXPIRY_CHECK_MS})`, intOption(100, 86_400_000))
    .option('--max-sessions <n>', "sessions a user may hold at once when neither the user nor the subscription sets a limit (default: none)", intOption(1, 10_000))
    .addOption(
      new Option('--on-limit <policy>', 'a sign-in over the limit: end the oldest session ("signed in on another device") or refuse the new one')
        .choices(['replace-oldest', 'refuse'])
        .default('replace-oldest'),
    )
    .option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS and WSS only (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--metrics-token <token>', METRICS_TOKEN_HELP)
    .option(
      '--instance-id <id>',
      'this control server among several sharing one PostgreSQL database (leases on pending disconnects, tracker directory); default: random per start',
      instanceIdOption,
    )
    .option(
      '--no-shared-tracker-secret',
      "refuse the shared GATECAST_TRACKER_SECRET on the control link: every tracker presents its own credential (gatecast admin trackers credentials add ID)",
    )
    .addHelpText(
      'after',
      '\nEnvironment:\n  GATECAST_ADMIN_PASSWORD   password of the "admin" user (required)\n' +
        '  GATECAST_TRACKER_SECRET   shared secret trackers may present on the control link, for any tracker id (required unless\n' +
        '                            --no-shared-tracker-secret; must differ from the admin password). Trackers\' own credentials\n' +
        '                            (gatecast admin trackers credentials add ID) work either way\n' +
        '  GATECAST_METRICS_TOKEN    bearer token for /metrics (as --metrics-token)\n' +
        '  GATECAST_LOG_LEVEL        pino log level (default warn)\n',
    )
    .action(async (flags: ControlFlags, cmd: Command) => {
      const adminPassword = process.env['GATECAST_ADMIN_PASSWORD'];
      if (!adminPassword) {
        cmd.error('error: GATECAST_ADMIN_PASSWORD is not set: it is the password of the control server\'s "admin" user', { exitCode: 2 });
      }
      const trackerSecret = flags.sharedTrackerSecret ? process.env['GATECAST_TRACKER_SECRET'] : null;
      if (trackerSecret === null) {
        if (process.env['GATECAST_TRACKER_SECRET']) console.error('note: --no-shared-tracker-secret: GATECAST_TRACKER_SECRET is ignored, trackers need their own credentials');
      } else if (!trackerSecret) {
        cmd.error('error: GATECAST_TRACKER_SECRET is not set: it is the secret trackers present on the control link (it must differ from the admin password)', { exitCode: 2 });
      }
      if (trackerSecret === adminPassword) {
        cmd.error('error: GATECAST_TRACKER_SECRET must differ from GATECAST_ADMIN_PASSWORD: a tracker must not hold the admin password', { exitCode: 2 });
      }
      const metricsToken = readMetricsToken(flags.metricsToken, [adminPassword, trackerSecret ?? undefined]);
      if ('error' in metricsToken) cmd.error(`error: ${metricsToken.error}`, { exitCode: 2 });
      const tls = readTlsFlags(flags);
      let opened: OpenedControlStore;
      try {
        opened = await openControlStore(flags.db);
      } catch (err) {
        // Not a usage error: fail() prints it without commander's "--help" hint.
        if (err instanceof DatabaseCorruptError) fail(corruptMessage(err.file, err.problems), EXIT.databaseCorrupt);
        if (err instanceof DatabaseUnavailableError) fail(unavailableMessage(err), err.refused ? EXIT.usage : EXIT.error);
        cmd.error(`error: cannot open the database ${isPostgresUrl(flags.db) ? redactUrl(flags.db) : flags.db}: ${err instanceof Error ? err.message : String(err)}`, { exitCode: EXIT.usage });
      }
      const { store } = opened;
      const logLevel = process.env['GATECAST_LOG_LEVEL'] ?? 'warn';
      // PostgreSQL: one of possibly several control servers on the database (docs/OPERATIONS.md, "Several control servers").
      const instanceId = flags.instanceId ?? `control-${randomBytes(6).toString('hex')}`;
      const cluster = opened.notices && {
        instanceId,
        notices: opened.notices(systemClock, pino({ name: 'gatecast-control', level: logLevel }, process.stderr)),
      };
      let server: Awaited<ReturnType<typeof createControlServer>>;
      let url: string;
      try {
        server = await createControlServer({
          store,
          clock: systemClock,
          adminPassword,
          trackerSecret,
          tokenTtlS: flags.tokenTtl,
          disconnectRetryMs: flags.disconnectRetry,
          expiryCheckMs: flags.expiryCheck,
          webServer: webServerFactory({ tls }),
          onLimit: flags.onLimit,
          maxSessions: flags.maxSessions ?? null,
          isDatabaseCorrupt: opened.isCorrupt,
          databaseProbe: opened.probe,
          metrics: new ControlMetrics(processRegistry()),
          metricsToken: metricsToken.token,
          cluster,
          // Logs go to stderr so stdout carries only the lines a script may read.
          logger: { name: 'gatecast-control', level: logLevel, stream: process.stderr },
        });
        url = await server.listen(flags.port, flags.host);
      } catch (err) {
        await store.close();
        // Damage quick_check cannot see (index contents) may still stop the start-up queries.
        if (opened.kind === 'sqlite' && (isCorruption(err) || (err instanceof Error && isCorruption(err.cause)))) {
          fail(corruptMessage(flags.db, [err instanceof Error ? err.message : String(err)]), EXIT.databaseCorrupt);
        }
        cmd.error(`error: cannot start the control server: ${err instanceof Error ? err.message : String(err)}`, { exitCode: EXIT.error });
      }
      console.log(`control server listening on ${url}`);
      if (cluster) console.log(`control server instance ${instanceId} (leases and tracker directory shared through the database)`);

      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: stopping control server`);
        server
          .close()
          .then(() => store.close())
          .then(() => {
            process.exitCode = 0;
          })
          .catch((err: unknown) => {
            console.error(`error: stopping the control server failed: ${err instanceof Error ? err.message : String(err)}`);
            process.exitCode = 1;
          });
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
