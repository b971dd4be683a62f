/**
 * `gatecast login` and `gatecast logout`: trade the password for a revocable
 * device credential, kept in the user's config directory (login-store.ts), so
 * `gatecast watch` needs no password anywhere and costs the server no
 * password hash. The password is read from the terminal without echo, or
 * from stdin when stdin is not a terminal: never from argv, where other users
 * of the machine can read it.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ClientError } from '../core/errors.js';
import { loginDevice, logoutDevice, type DeviceCredential } from '../protocol/control-api.js';
import { EXIT } from './exit-codes.js';
import { trustFlag, CA_HELP, envUrl, exitOnError, fail, urlOption } from './common.js';
import { LoginStore, type StoredLogin } from './login-store.js';

const MAX_PASSWORD = 1024;

/** Reads a line from a terminal with echo off (Ctrl-C aborts), or the first line of piped stdin. */
export function readPassword(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return input.isTTY ? readFromTty(prompt, input, output) : readFirstLine(input);
}

function readFromTty(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    let value = '';
    const done = (err: Error | null): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(null);
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ' && value.length < MAX_PASSWORD) value += ch;
      }
    };
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}

function readFirstLine(input: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (): void => {
      input.off('data', onData);
      input.off('end', finish);
      input.off('error', reject);
      input.pause();
      resolve((text.split('\n')[0] ?? '').replace(/\r$/, ''));
    };
    const onData = (chunk: string): void => {
      text += chunk;
      if (text.includes('\n') || text.length > MAX_PASSWORD + 2) finish();
    };
    input.setEncoding('utf8');
    input.on('data', onData);
    input.once('end', finish);
    input.once('error', reject);
  });
}

interface LoginFlags {
  control: string;
  user: string;
  ca?: string;
}

export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('log this device in: the password (asked for, or read from stdin) is traded for a revocable device credential')
    .requiredOption('--control <url>', 'control server URL (env GATECAST_CONTROL)', urlOption, envUrl('GATECAST_CONTROL'))
    .requiredOption('--user <name>', 'your user name', process.env['GATECAST_USER'])
    .option('--ca <file>', CA_HELP)
    .action(async (flags: LoginFlags) => {
      const trust = trustFlag(flags.ca);
      const store = new LoginStore();
      let password: string;
      try {
        password = await readPassword(`password for ${flags.user} at ${flags.control}: `);
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err), EXIT.usage);
      }
      if (password.length === 0) fail('no password given (type it at the prompt, or pipe it on stdin)', EXIT.usage);
      let login: StoredLogin;
      try {
        login = await loginDevice(flags.control, { user: flags.user, password, label: hostname().slice(0, 100) }, trust);
      } catch (err) {
        exitOnError(err);
      }
      let previous: StoredLogin | undefined;
      try {
        previous = store.get(flags.control);
        store.put(flags.control, login);
      } catch (err) {
        // The credential could not be kept: give it back rather than leave it valid and lost.
        await logoutDevice(flags.control, login, trust).catch(() => undefined);
        fail(`cannot save the login in ${store.path}: ${err instanceof Error ? err.message : String(err)}`);
      }
      // The login this one replaces is given back, so a device holds one credential per server.
      if (previous) await logoutDevice(flags.control, previous, trust).catch(() => undefined);
      process.stderr.write(
        `logged in as ${login.user} at ${flags.control} (device ${login.device}, valid until ${new Date(login.expires_at).toISOString()}); saved in ${store.path}\n`,
      );
    });
}

export function registerLogoutCommand(program: Command): void {
  program
    .command('logout')
    .description("log this device out: revoke its device credential on the control server and forget it")
    .requiredOption('--control <url>', 'control server URL (env GATECAST_CONTROL)', urlOption, envUrl('GATECAST_CONTROL'))
    .option('--ca <file>', CA_HELP)
    .action(async (flags: { control: string; ca?: string }) => {
      const trust = trustFlag(flags.ca);
      const store = new LoginStore();
      const login = store.get(flags.control);
      if (!login) fail(`this device is not logged in at ${flags.control}`, EXIT.usage);
      try {
        await logoutDevice(flags.control, login, trust);
      } catch (err) {
        // Already revoked or expired: forgetting it is all that is left to do.
        if (!(err instanceof ClientError && err.code === 'login_required')) exitOnError(err);
      }
      store.remove(flags.control);
      process.stderr.write(`logged out of ${flags.control} (device ${login.device} revoked)\n`);
    });
}

/**
 * What `gatecast watch` is admitted with: a password if one is given (then
 * --user is needed), else this device's stored login for the control server.
 */
export function watchCredentials(
  control: string,
  user: string | undefined,
  password: string | undefined,
  store: LoginStore = new LoginStore(),
): { user: string; password: string } | { user: string; device: DeviceCredential } {
  if (password) {
    if (!user) fail('--user (or env GATECAST_USER) is required with a password', EXIT.usage);
    return { user, password };
  }
  let login: StoredLogin | undefined;
  try {
    login = store.get(control);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err), EXIT.usage);
  }
  if (!login) {
    fail(`this device is not logged in at ${control}: run gatecast login --control ${control} --user NAME (or give --password / GATECAST_PASSWORD)`, EXIT.usage);
  }
  if (user && user !== login.user) {
    fail(`this device is logged in at ${control} as ${login.user}, not ${user}: run gatecast login again, or give a password`, EXIT.usage);
  }
  return { user: login.user, device: { device: login.device, secret: login.secret } };
}
