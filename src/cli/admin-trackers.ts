/**
 * `gatecast admin trackers credentials add|list|remove`: trackers' own
 * control-link credentials (issue 12). `add ID` prints `ID.SECRET` once: the
 * tracker is started with it as GATECAST_TRACKER_SECRET (its id is then ID).
 * `remove ID` revokes it and closes that tracker's live control link.
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Command } from 'commander';
import { InternalError } from '../core/errors.js';
import { controlRequest, type ControlRequest } from '../protocol/control-api.js';
import { table, shortTime } from './admin-format.js';
import type { AdminConnection, AdminIo, AdminRun } from './admin.js';

const View = Type.Object({ id: Type.String(), created_at: Type.String(), revoked_at: Type.Union([Type.String(), Type.Null()]) });
const Created = Type.Object({ id: Type.String(), credential: Type.String(), created_at: Type.String() });
const List = Type.Object({ credentials: Type.Array(View) });
const Removed = Type.Object({ id: Type.String(), links_closed: Type.Integer() });

function check<T>(schema: Parameters<typeof TypeCompiler.Compile>[0], v: unknown, what: string): T {
  if (!TypeCompiler.Compile(schema).Check(v)) throw new InternalError(`control server sent a malformed ${what}`);
  return v as T;
}

function call(conn: AdminConnection, method: ControlRequest['method'], path: string, body?: unknown): Promise<unknown> {
  const auth = typeof conn.auth === 'string' ? { basic: { user: 'admin', password: conn.auth } } : { bearer: `${conn.auth.device}.${conn.auth.secret}` };
  return controlRequest(conn.url, path, { method, body, ...auth }, conn.trust);
}

export function registerTrackerCredentialCommands(admin: Command, run: AdminRun, io: AdminIo): void {
  const credentials = admin
    .command('trackers')
    .description('trackers on the control link')
    .command('credentials')
    .description("trackers' own control-link credentials (instead of the shared GATECAST_TRACKER_SECRET)");

  credentials
    .command('add <id>')
    .description('give tracker <id> its own credential; prints ID.SECRET once: start that tracker with GATECAST_TRACKER_SECRET=ID.SECRET')
    .action((id: string, _flags: unknown, cmd: Command) =>
      run(cmd, async (_c, _url, conn) => {
        const r = check<{ credential: string }>(Created, await call(conn, 'POST', '/v1/admin/trackers/credentials', { id }), 'tracker credential');
        io.out(`${r.credential}\n`);
        io.err(`tracker ${id}: credential made; it is shown this once (only its hash is kept): start the tracker with GATECAST_TRACKER_SECRET set to it\n`);
      }),
    );

  credentials
    .command('list')
    .description("list trackers' credentials (never their secrets), revoked ones too")
    .option('--json', 'print JSON')
    .action((flags: { json?: boolean }, cmd: Command) =>
      run(cmd, async (_c, _url, conn) => {
        const list = check<{ credentials: Array<{ id: string; created_at: string; revoked_at: string | null }> }>(
          List,
          await call(conn, 'GET', '/v1/admin/trackers/credentials'),
          'tracker credential list',
        ).credentials;
        if (flags.json) return void io.out(`${JSON.stringify(list, null, 2)}\n`);
        io.out(table(['TRACKER', 'CREATED', 'REVOKED'], list.map((c) => [c.id, shortTime(c.created_at), shortTime(c.revoked_at)])));
      }),
    );

  credentials
    .command('remove <id>')
    .description("revoke tracker <id>'s credential and close its control link (on every control server of a cluster within seconds)")
    .action((id: string, _flags: unknown, cmd: Command) =>
      run(cmd, async (_c, _url, conn) => {
        const r = check<{ links_closed: number }>(Removed, await call(conn, 'DELETE', `/v1/admin/trackers/credentials/${encodeURIComponent(id)}`), 'revocation');
        io.out(`revoked the credential of tracker ${id}; ${r.links_closed === 1 ? 'its control link here was closed' : 'no control link of it here (another control server closes its link at its next check)'}\n`);
      }),
    );
}
