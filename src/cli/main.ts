/**
 * The `gatecast` executable: the only composition root. Each subcommand lives
 * in its own file and registers itself here, explicitly. Only the subcommand
 * being run is loaded (an admin call needn't load the video pipeline), which
 * halves start-up time; `gatecast`, `gatecast help` and `--help` load them all.
 */
import { Command } from 'commander';
import { EXIT } from './exit-codes.js';

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  demo: async () => (await import('./demo.js')).registerDemoCommand,
  control: async () => (await import('./control.js')).registerControlCommand,
  tracker: async () => (await import('./tracker.js')).registerTrackerCommand,
  broadcast: async () => (await import('./broadcast.js')).registerBroadcastCommand,
  watch: async () => (await import('./watch.js')).registerWatchCommand,
  admin: async () => (await import('./admin.js')).registerAdminCommand,
  login: async () => (await import('./login.js')).registerLoginCommand,
  logout: async () => (await import('./login.js')).registerLogoutCommand,
};

const program = new Command()
  .name('gatecast')
  .description('controllable peer-to-peer live streaming: paid live TV carried by its viewers')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride((err) => {
    // commander's own parse errors exit 2, like other Unix tools; a command's
    // cmd.error(..., { exitCode }) keeps the code it chose.
    const parseError = err.code.startsWith('commander.') && err.code !== 'commander.error';
    process.exit(err.exitCode === 0 ? EXIT.ok : parseError ? EXIT.usage : err.exitCode);
  });

const name = process.argv[2];
const wanted = name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : Object.keys(COMMANDS);
for (const command of wanted) {
  const load = COMMANDS[command];
  if (load) (await load())(program);
}

await program.parseAsync(process.argv);
