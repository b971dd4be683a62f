/**
 * `gatecast tracker`: runs a tracker bound to a control server. Wiring only:
 * flags and environment → store → createTracker → signals.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { trustFlag, CA_HELP, intOption, readTlsFlags, urlOption } from './common.js';
import { pino } from 'pino';
import { DEFAULTS } from '../core/config.js';
import type { SwarmStore } from '../core/ports.js';
import { RedisUnreachableError } from '../store/redis-connection.js';
import { checkSwarmStoreFlag, openSwarmStore, SWARM_STORE_HELP } from './swarm-store.js';
import { CLIENT_RETRY_MS, createTracker } from '../tracker/create-tracker.js';
import { credentialTrackerId, splitControlUrls } from '../tracker/control-link-client.js';
import { webServerFactory } from './web-server.js';
import { TrackerMetrics } from '../tracker/metrics.js';
import { METRICS_TOKEN_HELP, processRegistry, readMetricsToken } from './metrics-flags.js';

/** --control URL[,URL…], repeatable: every control server this tracker may link to, in the order it tries them. */
function controlUrls(value: string, previous: string[] | undefined): string[] {
  const urls = splitControlUrls(value);
  if (urls.length === 0) throw new InvalidArgumentError('expected an http(s) URL');
  return [...(previous ?? []), ...urls.map(urlOption)];
}

const CONTROL_HELP =
  'control server base URL; several control servers sharing one PostgreSQL database: comma-separated and/or the flag repeated, ' +
  'tried in turn when a link fails (env GATECAST_CONTROL, commas too)';

interface TrackerFlags {
  port: number;
  host: string;
  control?: string[];
  controlUrl?: string[];
  publicUrl?: string;
  heartbeatTimeout?: number;
  clientRetry?: number;
  tlsCert?: string;
  tlsKey?: string;
  ca?: string;
  metricsToken?: string;
  swarmStore: string;
  id?: string;
}

export function registerTrackerCommand(program: Command): void {
  program
    .command('tracker')
    .description('run a tracker: hands out peer lists, watches heartbeats, reports to the control server')
    .option('--port <port>', 'port to listen on', intOption(0, 65535), 8701)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--control <urls>', CONTROL_HELP, controlUrls)
    .option('--control-url <urls>', 'the same as --control', controlUrls)
    .option('--public-url <url>', 'base URL clients use to reach this tracker (default http(s)://host:port)', urlOption)
    .option('--heartbeat-timeout <ms>', `drop a client silent this long (default: the control server's, else ${DEFAULTS.heartbeatTimeoutMs})`, intOption(100, 3_600_000))
    .option('--client-retry <ms>', `resend a disconnect to its client, and revocations to peers, this often (default ${CLIENT_RETRY_MS})`, intOption(10, 60_000))
    .option('--tls-cert <file>', 'PEM certificate (chain): serve announce and channel over HTTPS and WSS only (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--ca <file>', CA_HELP)
    .option('--metrics-token <token>', METRICS_TOKEN_HELP)
    .option('--swarm-store <memory|url>', SWARM_STORE_HELP, 'memory')
    .option('--id <id>', "this tracker's id on the control link (default: its credential's ID when GATECAST_TRACKER_SECRET is ID.SECRET, else host:port)")
    .action(async (flags: TrackerFlags, cmd: Command) => {
      let control = [...(flags.control ?? []), ...(flags.controlUrl ?? [])];
      if (control.length === 0 && process.env['GATECAST_CONTROL']) {
        try {
          control = controlUrls(process.env['GATECAST_CONTROL'], []);
        } catch {
          cmd.error(`error: GATECAST_CONTROL is not a list of http(s) URLs: ${process.env['GATECAST_CONTROL']}`, { exitCode: 2 });
        }
      }
      if (control.length === 0) cmd.error('error: the control server URL is required: --control URL or GATECAST_CONTROL', { exitCode: 2 });
      const secret = process.env['GATECAST_TRACKER_SECRET'];
      if (!secret) {
        cmd.error('error: the tracker secret is required: set GATECAST_TRACKER_SECRET (the control server\'s, not the admin password)', { exitCode: 2 });
      }
      // A tracker's own credential (`gatecast admin trackers credentials add ID`) is good for its ID only.
      const credentialId = credentialTrackerId(secret);
      if (credentialId !== null && flags.id !== undefined && flags.id !== credentialId) {
        cmd.error(`error: --id ${flags.id} does not match the tracker credential in GATECAST_TRACKER_SECRET, which is for tracker ${credentialId}`, { exitCode: 2 });
      }
      const trackerId = flags.id ?? credentialId ?? undefined;
      if (secret === process.env['GATECAST_ADMIN_PASSWORD']) {
        cmd.error('error: GATECAST_TRACKER_SECRET must differ from GATECAST_ADMIN_PASSWORD: a tracker must not hold the admin password', { exitCode: 2 });
      }
      try {
        checkSwarmStoreFlag(flags.swarmStore);
      } catch (err) {
        cmd.error(`error: --swarm-store: ${err instanceof Error ? err.message : String(err)}`, { exitCode: 2 });
      }
      const metricsToken = readMetricsToken(flags.metricsToken, [secret, process.env['GATECAST_ADMIN_PASSWORD']]);
      if ('error' in metricsToken) cmd.error(`error: ${metricsToken.error}`, { exitCode: 2 });
      const tls = readTlsFlags(flags);
      const trust = trustFlag(flags.ca);
      const logger = pino({ name: 'gatecast', level: process.env['GATECAST_LOG_LEVEL'] ?? 'warn' });
      let store: SwarmStore;
      try {
        store = await openSwarmStore(flags.swarmStore, { heartbeatTimeoutMs: flags.heartbeatTimeout, logger });
      } catch (err) {
        if (!(err instanceof RedisUnreachableError)) throw err;
        cmd.error(`error: ${err.message}`, { exitCode: 1 });
      }
      const tracker = await createTracker({
        // A comma-separated list: the control link splits it (splitControlUrls).
        controlUrl: [...new Set(control)].join(','),
        secret,
        trackerId,
        port: flags.port,
        host: flags.host,
        publicUrl: flags.publicUrl,
        heartbeatTimeoutMs: flags.heartbeatTimeout,
        clientRetryMs: flags.clientRetry,
        webServer: webServerFactory({ tls }),
        ca: trust.ca,
        store,
        logger,
        metrics: new TrackerMetrics(processRegistry()),
        metricsToken: metricsToken.token,
      });
      let urls: { announceUrl: string; wsUrl: string };
      try {
        urls = await tracker.start();
      } catch (err) {
        cmd.error(`error: cannot listen on ${flags.host}:${flags.port}: ${err instanceof Error ? err.message : String(err)}`, { exitCode: 1 });
      }
      const base = urls.announceUrl.replace(/\/announce$/, '');
      console.log(`tracker listening on ${base} (announce: ${urls.announceUrl}, ws: ${urls.wsUrl})`);
      console.log(`connecting to control server at ${control.join(', ')} ...`);

      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: stopping tracker`);
        tracker
          .stop()
          .then(() => store.close())
          .then(() => {
            console.log('tracker stopped');
            process.exitCode = 0;
          })
          .catch((err: unknown) => {
            logger.error({ err }, 'tracker stop failed');
            process.exitCode = 1;
          });
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));

      await tracker.ready;
      if (!stopping) console.log('connected to control server');
    });
}
