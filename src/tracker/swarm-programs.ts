/**
 * Which program each swarm (info hash) belongs to.
 *
 * A token names its program (`prg`), but the info hash is SHA-1 of the program
 * id and the source's key, which the tracker does not know. So the tracker
 * learns the binding: the first valid announce for an info hash binds it to
 * the token's program (first come); later announces for that hash must carry
 * a token for the same program, or get `token_wrong_program`.
 *
 * A binding made by a viewer is provisional: an entitled viewer of program A
 * could otherwise squat program B's hash before B's source arrives. A source
 * token outranks it: the source's announce rebinds the hash to its program
 * and the tracker evicts the squatters. A binding made by a source is final,
 * and a provisional one is forgotten when its swarm empties.
 */
import { ClientError } from '../core/errors.js';

export type BindResult = { kind: 'ok' } | { kind: 'rebound'; previous: string };

export class SwarmPrograms {
  private readonly bindings = new Map<string, { program: string; bySource: boolean }>();

  bind(infoHash: string, program: string, role: 'viewer' | 'source'): BindResult {
    const bySource = role === 'source';
    const bound = this.bindings.get(infoHash);
    if (!bound) {
      this.bindings.set(infoHash, { program, bySource });
      return { kind: 'ok' };
    }
    if (bound.program === program) {
      if (bySource) bound.bySource = true;
      return { kind: 'ok' };
    }
    if (bySource && !bound.bySource) {
      this.bindings.set(infoHash, { program, bySource: true });
      return { kind: 'rebound', previous: bound.program };
    }
    throw new ClientError('token_wrong_program', 'access token is for another program');
  }

  programOf(infoHash: string): string | undefined {
    return this.bindings.get(infoHash)?.program;
  }

  /** Called when a swarm empties. */
  released(infoHash: string): void {
    if (this.bindings.get(infoHash)?.bySource === false) this.bindings.delete(infoHash);
  }
}
