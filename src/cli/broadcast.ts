/** `gatecast broadcast`: the source of a program, seeding signed live pieces into the swarm. */
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultSourceKeyPath, readSourceKeyFile } from './source-key-file.js';
import { Broadcaster } from '../broadcast/broadcaster.js';
import { SeqStateFile, seqStatePath } from '../broadcast/seq-state-file.js';
import type { IngestSpec } from '../broadcast/ingest.js';
import { DEFAULTS } from '../core/config.js';
import { pieceIntervalMs } from '../core/piece.js';
import { EXIT } from './exit-codes.js';
import { LoginStore, type StoredLogin } from './login-store.js';
import { trustFlag, CA_HELP, envUrl, exitOnError, fail, intOption, urlOption, onSignals, rateOption, requireEnv } from './common.js';

interface BroadcastFlags {
  control: string;
  program: string;
  input?: string;
  testPattern?: boolean;
  bitrate: number;
  maxUpload: number | null;
  host: string;
  peerPort: number;
  ca?: string;
  sourceKey?: string;
}

export function registerBroadcastCommand(program: Command): void {
  program
    .command('broadcast')
    .description('feed a live program into its swarm (the source)')
    .requiredOption('--control <url>', 'control server URL (env GATECAST_CONTROL)', urlOption, envUrl('GATECAST_CONTROL'))
    .requiredOption('--program <id>', 'program id')
    .option('--input <file>', "MPEG-TS file (paced at its bitrate, looped), or '-' for stdin")
    .option('--test-pattern', "ffmpeg's test video and tone (H.264/AAC)")
    .option('--bitrate <bps>', 'test pattern bitrate in bits/s', intOption(100_000, 50_000_000), DEFAULTS.programBitrateBps)
    .option('--max-upload <rate>', 'upload cap, e.g. 4mbit, 500KB/s, unlimited', rateOption, null)
    .option('--host <addr>', 'address to listen on for peers', '127.0.0.1')
    .option('--peer-port <port>', 'port for peer connections (0: any free port)', intOption(0, 65535), 0)
    .option('--ca <file>', CA_HELP)
    .option('--source-key <file>', "the program's source signing key (default: the one `admin programs add` or `programs rekey` saved in the config directory)")
    .action(async (flags: BroadcastFlags) => {
      const trust = trustFlag(flags.ca);
      // The admin password, else this machine's admin login (gatecast login --user admin): a guess flood
      // against the admin's name locks the password for a while, never the device credential.
      let login: StoredLogin | undefined;
      try {
        login = process.env['GATECAST_ADMIN_PASSWORD'] ? undefined : new LoginStore().get(flags.control);
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err), EXIT.usage);
      }
      const adminPassword = login ? { device: login.device, secret: login.secret } : requireEnv('GATECAST_ADMIN_PASSWORD', 'the broadcaster is admitted with the admin account (or run gatecast login --user admin)');
      let input: IngestSpec;
      if (flags.testPattern && flags.input) fail('use either --input or --test-pattern, not both', EXIT.usage);
      if (flags.testPattern) input = { kind: 'test-pattern', bitrateBps: flags.bitrate };
      else if (flags.input === '-') input = { kind: 'stdin' };
      else if (flags.input) input = { kind: 'file', path: flags.input };
      else fail('say what to broadcast: --input FILE, --input - or --test-pattern', EXIT.usage);
      // The program's signing key is always the broadcaster's own: the control server never hands one out.
      let sourceKey: KeyObject;
      const keyPath = flags.sourceKey ?? defaultSourceKeyPath(flags.control, flags.program);
      if (!flags.sourceKey && !existsSync(keyPath)) {
        fail(
          `no source signing key for program ${flags.program} (looked for ${keyPath}): \`gatecast admin programs add\` saves it there on the machine ` +
            `that ran it; copy it here or give --source-key FILE, or make a new pair here with \`gatecast admin programs rekey ${flags.program}\` (the info hash changes)`,
          EXIT.usage,
        );
      }
      try {
        sourceKey = readSourceKeyFile(keyPath);
      } catch (err) {
        fail(`cannot read the source key ${keyPath}: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
      }
      let b: Broadcaster;
      try {
        b = await Broadcaster.start({
          controlUrl: flags.control,
          program: flags.program,
          adminPassword,
          input,
          uploadRate: flags.maxUpload,
          host: flags.host,
          peerPort: flags.peerPort,
          sourceKey,
          // The sequence reservation lives next to the key: a restart continues the program's seqs.
          seqState: new SeqStateFile(seqStatePath(keyPath)),
          trust,
          log: (line) => {
            if (process.env['GATECAST_DEBUG']) process.stderr.write(`${line}\n`);
          },
        });
      } catch (err) {
        exitOnError(err);
      }
      process.stderr.write(`broadcasting "${b.metadata.title}" (${b.metadata.program}), info hash ${b.metadata.info_hash}\n`);
      const start = b.seqStart;
      process.stderr.write(
        start.from === 'state'
          ? `first piece ${start.firstSeq}, continuing the program's sequence (${seqStatePath(keyPath)})\n`
          : `first piece ${start.firstSeq}, from the clock (${start.reason})\n`,
      );
      const perSecond = 1_000 / pieceIntervalMs(b.metadata);
      if (start.from === 'clock' && perSecond > 10) {
        process.stderr.write(
          `warning: this program makes ${perSecond.toFixed(1)} pieces a second, and numbering from the clock is only safe up to 10: ` +
            `a later restart without ${seqStatePath(keyPath)} could reuse piece numbers, so keep that file\n`,
        );
      }
      b.on('error', (err) => {
        process.stderr.write(`error: ${err.message}\n`);
        void b.stop().finally(() => process.exit(EXIT.error));
      });
      b.on('end', () => {
        process.stderr.write('input ended\n');
        void b.stop().finally(() => process.exit(EXIT.ok));
      });
      onSignals(() => b.stop());
    });
}
