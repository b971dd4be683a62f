/**
 * Pre-hook: the info hash must belong to the token's program (see
 * swarm-programs.ts for how the tracker learns which program a hash is).
 */
import { InternalError } from '../core/errors.js';
import type { SwarmPrograms } from './swarm-programs.js';
import type { PreHook } from './types.js';

export function createProgramHook(deps: {
  programs: SwarmPrograms;
  /** A source took over a hash a viewer had bound: sessions of `previous` must go. */
  onRebound: (infoHash: string, program: string) => Promise<void>;
}): PreHook {
  return async (ctx) => {
    if (!ctx.claims) throw new InternalError('program hook ran before the token hook');
    const result = deps.programs.bind(ctx.req.infoHash, ctx.claims.prg, ctx.claims.role);
    if (result.kind === 'rebound') await deps.onRebound(ctx.req.infoHash, ctx.claims.prg);
  };
}
