/**
 * The `gatecast` executable: the only composition root. Each subcommand lives
 * in its own file and registers itself here, explicitly.
 */
import { Command } from 'commander';
import { registerControlCommand } from './control.js';
import { registerTrackerCommand } from './tracker.js';
import { registerBroadcastCommand } from './broadcast.js';
import { registerWatchCommand } from './watch.js';
import { registerAdminCommand } from './admin.js';
import { registerDemoCommand } from './demo.js';
import { EXIT } from './exit-codes.js';

const program = new Command()
  .name('gatecast')
  .description('controllable peer-to-peer live streaming: paid live TV carried by its viewers')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's own usage errors: exit 2, like other Unix tools.
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });

registerDemoCommand(program);
registerControlCommand(program);
registerTrackerCommand(program);
registerBroadcastCommand(program);
registerWatchCommand(program);
registerAdminCommand(program);

await program.parseAsync(process.argv);
