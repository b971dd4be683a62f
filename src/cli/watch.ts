/** `gatecast watch`: a viewer, steps a–f, with the stream on a local URL, a file or stdout. */
import type { Command } from 'commander';
import { Viewer, type ViewerEnd } from '../peer/viewer.js';
import { createPlaybackServer } from '../peer/playback-server.js';
import type { PlaybackEnd } from '../peer/player-status.js';
import type { ClientTrust } from '../core/ports.js';
import { fileSink, type PlaybackSink } from '../peer/playback-sinks.js';
import { StatusLine, formatStatus } from '../peer/status-line.js';
import type { DeviceCredential } from '../protocol/control-api.js';
import { REASON_OTHER_DEVICE } from '../control/session-limit.js';
import { EXIT } from './exit-codes.js';
import { watchCredentials } from './login.js';
import { webServerFactory } from './web-server.js';
import { trustFlag, CA_HELP, envUrl, exitOnError, fail, intOption, urlOption, onSignals, rateOption } from './common.js';

interface WatchFlags {
  control: string;
  user?: string;
  password?: string;
  output?: string;
  httpPort: number;
  http: boolean;
  host: string;
  playbackHost: string;
  peerPort: number;
  ca?: string;
  maxUpload: number | null;
  maxPeers: number;
  quiet?: boolean;
}

export function registerWatchCommand(program: Command): void {
  program
    .command('watch')
    .description('watch a program: get admitted by the control server, join the swarm, play the live stream')
    .argument('<program>', 'program id')
    .requiredOption('--control <url>', 'control server URL (env GATECAST_CONTROL)', urlOption, envUrl('GATECAST_CONTROL'))
    .option('--user <name>', 'your user name (env GATECAST_USER; not needed after gatecast login)', process.env['GATECAST_USER'])
    .option('--password <pw>', 'your password (or env GATECAST_PASSWORD); without one, the login of gatecast login is used')
    .option('-o, --output <file>', "also write the stream to FILE ('-' for stdout)")
    .option('--http-port <port>', 'port of the local playback URL (0: any free port)', intOption(0, 65535), 0)
    .option('--no-http', 'do not serve the local playback URL')
    .option('--host <addr>', 'address to listen on for peers', '127.0.0.1')
    .option('--playback-host <addr>', 'address of the local playback URL (keep it local: anyone who reaches it can watch)', '127.0.0.1')
    .option('--peer-port <port>', 'port for peer connections (0: any free port)', intOption(0, 65535), 0)
    .option('--max-upload <rate>', 'upload cap, e.g. 4mbit, 500KB/s, unlimited', rateOption, null)
    .option('--max-peers <n>', 'peer connections to keep', intOption(1, 500), 24)
    .option('-q, --quiet', 'no status line')
    .option('--ca <file>', CA_HELP)
    .action(async (programId: string, flags: WatchFlags) => {
      const trust = trustFlag(flags.ca);
      const creds = watchCredentials(flags.control, flags.user, flags.password ?? process.env['GATECAST_PASSWORD']);
      await watch(programId, { ...flags, ...creds }, trust);
    });
}

async function watch(programId: string, flags: WatchFlags & { user: string; password?: string; device?: DeviceCredential }, trust: ClientTrust): Promise<void> {
  const status = new StatusLine(process.stderr);
  const say = (line: string): void => {
    status.clear();
    process.stderr.write(`${line}\n`);
  };
  const sinks: PlaybackSink[] = [];
  let viewerRef: Viewer | null = null;
  const server = flags.http
    ? createPlaybackServer({ webServer: webServerFactory(), port: flags.httpPort, host: flags.playbackHost, title: programId, status: () => viewerRef?.stats() ?? {}, viewerStats: () => viewerRef?.stats() ?? null })
    : null;
  if (server) sinks.push(server);
  if (flags.output) {
    sinks.push(
      fileSink(flags.output, {
        onStop: (err) => {
          if (err) say(`output stopped: ${err.message}`);
        },
      }),
    );
  }
  // The playback port first: a taken --http-port fails before we are admitted anywhere.
  let playUrl: string | null = null;
  if (server) {
    try {
      playUrl = `${(await server.listen()).replace(/\/$/, '')}/stream.ts`;
    } catch (err) {
      fail(`cannot serve the playback URL on port ${flags.httpPort}: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
    }
  }
  let viewer: Viewer;
  try {
    viewer = await Viewer.start({
      controlUrl: flags.control,
      program: programId,
      user: flags.user,
      password: flags.password,
      device: flags.device,
      host: flags.host,
      peerPort: flags.peerPort,
      uploadRate: flags.maxUpload,
      maxPeers: flags.maxPeers,
      sinks,
      trust,
      log: (line) => {
        if (process.env['GATECAST_DEBUG']) say(line);
      },
    });
  } catch (err) {
    await Promise.all(sinks.map((s) => s.close()));
    exitOnError(err);
  }
  viewerRef = viewer;
  const md = viewer.admission.metadata;
  say(`admitted to "${md.title}" (${md.program}) as ${flags.user}, session ${viewer.sid}`);
  if (playUrl) say(`playback URL: ${playUrl}  (open it in VLC, mpv or ffplay)`);
  if (flags.output && flags.output !== '-') say(`writing the stream to ${flags.output}`);
  viewer.once('playing', () => say(`playing: first bytes after ${((Date.now() - viewer.startedAt) / 1000).toFixed(2)} s`));

  const timer = setInterval(() => {
    if (flags.quiet) return;
    const s = viewer.stats();
    const total = s.bytesFromPeers + s.bytesFromSource;
    status.update(formatStatus({ ...s, peerShare: total > 0 ? s.bytesFromPeers / total : null }));
  }, 1_000);
  timer.unref();

  const done = new Promise<ViewerEnd>((resolve) => viewer.once('ended', resolve));
  onSignals(async () => {
    await viewer.stop('viewer quit');
  });
  const end = await done;
  clearInterval(timer);
  const ending = endMessage(end);
  if (end.kind !== 'stopped') say(ending.message);
  // An open player page learns why before we go (at once without one, at most a couple of seconds with one).
  await server?.end(ending);
  await Promise.all(sinks.map((s) => s.close()));
  process.exit(end.kind === 'kicked' ? EXIT.kicked : end.kind === 'session_ended' ? EXIT.sessionEnded : EXIT.ok);
}

/** What `watch` prints and the player page shows when the session ends. */
function endMessage(end: ViewerEnd): PlaybackEnd {
  switch (end.kind) {
    case 'kicked':
      // Ended through the chain: by the operator, or by the session limit when the user signed in elsewhere.
      return { ...end, message: end.reason === REASON_OTHER_DEVICE ? `session ended: ${end.reason}` : `session ended by the operator: ${end.reason}` };
    case 'session_ended':
      return { ...end, message: `session ended: ${end.reason}` };
    case 'stopped':
      return { ...end, message: `the viewer stopped: ${end.reason}` };
  }
}
