/** Small helpers shared by the subcommands: errors, rates, signals. */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { InvalidArgumentError } from 'commander';
import type { ClientTrust } from '../core/ports.js';
import { loadTrust } from './trust.js';
import type { TlsIdentity } from './web-server.js';
import { ClientError } from '../core/errors.js';
import { parseRate } from '../peer/token-bucket.js';
import { EXIT } from './exit-codes.js';

export function fail(message: string, code: number = EXIT.error): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

/** Prints an error the way every subcommand does, and picks the exit code. */
export function exitOnError(err: unknown): never {
  if (err instanceof ClientError && err.code === 'login_required') fail(err.message, EXIT.loginRequired);
  if (err instanceof ClientError) fail(`${err.message} (${err.code})`, EXIT.refused);
  fail(err instanceof Error ? err.message : String(err), EXIT.error);
}

export function rateOption(value: string): number | null {
  try {
    return parseRate(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

/** An http(s) URL, without a trailing slash. */
export function urlOption(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new InvalidArgumentError('expected an http(s) URL');
  }
  return value.replace(/\/+$/, '');
}

export function intOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Runs `stop` once on SIGINT/SIGTERM, then exits with `code`. */
export function onSignals(stop: () => Promise<void>, code: number = EXIT.ok): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(code);
    stopping = true;
    stop().then(
      () => process.exit(code),
      () => process.exit(EXIT.error),
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

export function requireEnv(name: string, why: string): string {
  const v = process.env[name];
  if (!v) fail(`${name} is not set: ${why}`, EXIT.usage);
  return v;
}

/** A URL from the environment, checked like the flag it stands in for (a bad one is a usage error). */
export function envUrl(name: string): string | undefined {
  const v = process.env[name];
  if (!v) return undefined;
  try {
    return urlOption(v);
  } catch {
    fail(`${name} is not an http(s) URL: ${v}`, EXIT.usage);
  }
}

export const CA_HELP = 'also trust this CA certificate (PEM) for https:// and wss:// servers (besides the system store and NODE_EXTRA_CA_CERTS)';

/** --ca FILE: the trust the command hands every client it starts (control API, tracker channel, control link). */
export function trustFlag(path: string | undefined): ClientTrust {
  try {
    return loadTrust(path);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err), EXIT.usage);
  }
}

/** --tls-cert FILE --tls-key FILE: both or neither; read now so a bad file is a usage error at start. */
export function readTlsFlags(flags: { tlsCert?: string; tlsKey?: string }): TlsIdentity | null {
  if (!flags.tlsCert && !flags.tlsKey) return null;
  if (!flags.tlsCert || !flags.tlsKey) fail('--tls-cert and --tls-key go together', EXIT.usage);
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      fail(`cannot read the TLS ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
    }
  };
  const tls = { cert: read(flags.tlsCert, 'certificate'), key: read(flags.tlsKey, 'key') };
  try {
    createSecureContext(tls);
  } catch (err) {
    fail(`the TLS certificate and key do not load: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
  }
  return tls;
}
