/**
 * Where `gatecast login` keeps its device credentials: one JSON file in the
 * user's config directory ($XDG_CONFIG_HOME/gatecast, else ~/.config/gatecast),
 * keyed by control server URL. The directory is 0700 and the file 0600,
 * written to a temporary file and renamed, so it is never seen half-written
 * or readable by others. It holds device credentials only, never a password.
 */
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const StoredLogin = Type.Object({
  user: Type.String(),
  device: Type.String(),
  secret: Type.String(),
  expires_at: Type.Integer(),
});
export type StoredLogin = Static<typeof StoredLogin>;

const LoginFile = Type.Object({ version: Type.Literal(1), logins: Type.Record(Type.String(), StoredLogin) });
type LoginFile = Static<typeof LoginFile>;
const checkFile = TypeCompiler.Compile(LoginFile);

export const LOGIN_FILE = 'logins.json';

export function configDir(env: Record<string, string | undefined> = process.env): string {
  const xdg = env['XDG_CONFIG_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(env['HOME'] ?? homedir(), '.config'), 'gatecast');
}

/** The key of a control server: its URL without trailing slashes. */
export function controlKey(url: string): string {
  return url.replace(/\/+$/, '');
}

export class LoginStore {
  readonly path: string;

  constructor(readonly dir: string = configDir()) {
    this.path = join(dir, LOGIN_FILE);
  }

  get(controlUrl: string): StoredLogin | undefined {
    return this.read().logins[controlKey(controlUrl)];
  }

  put(controlUrl: string, login: StoredLogin): void {
    const file = this.read();
    file.logins[controlKey(controlUrl)] = login;
    this.write(file);
  }

  /** True if there was a login for the URL. */
  remove(controlUrl: string): boolean {
    const file = this.read();
    const key = controlKey(controlUrl);
    if (!Object.hasOwn(file.logins, key)) return false;
    delete file.logins[key];
    this.write(file);
    return true;
  }

  private read(): LoginFile {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return { version: 1, logins: {} };
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${this.path} is not valid JSON; remove it and log in again`);
    }
    if (!checkFile.Check(parsed)) throw new Error(`${this.path} is not a gatecast login file; remove it and log in again`);
    return parsed;
  }

  private write(file: LoginFile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // An existing directory keeps its mode through mkdir: make sure no one else can list it.
    if ((statSync(this.dir).mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      chmodSync(tmp, 0o600);
      renameSync(tmp, this.path);
    } catch (err) {
      unlinkSync(tmp);
      throw err;
    }
  }
}
