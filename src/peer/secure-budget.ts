/**
 * How many inbound peer sockets may be unauthenticated at once (Noise
 * handshake or token exchange under way), in total and per remote address.
 * Kept apart from the peer slots, so idle or slow sockets can neither fill a
 * viewer's connections nor stop it dialing out; past either limit a new
 * socket is refused at once. An address is counted by core/address.ts's
 * key: IPv6 by its /64, so a host cannot take a new address per socket.
 */
import { addressKey } from '../core/address.js';

export class InboundBudget {
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: { max: number; maxPerAddress: number }) {}

  /** Sockets holding a place now. */
  get pending(): number {
    return this.total;
  }

  /**
   * Takes a place for a socket from `remoteAddress`: returns the function that gives
   * it back (safe to call more than once), or null when the budget is spent.
   */
  admit(remoteAddress: string): (() => void) | null {
    const address = addressKey(remoteAddress);
    const n = this.perAddress.get(address) ?? 0;
    if (this.total >= this.limits.max || n >= this.limits.maxPerAddress) return null;
    this.total++;
    this.perAddress.set(address, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
  }
}
