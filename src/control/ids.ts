/**
 * Random ids the operator types on the command line (`gatecast admin kick
 * SID`, `disconnects show ID`, device ids): base64url, never beginning with
 * `-`, which a command-line parser would take for an option (one id in 64
 * otherwise).
 */
import { randomBytes } from 'node:crypto';

export function newId(bytes: number): string {
  for (;;) {
    const id = randomBytes(bytes).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
