/**
 * Fault injection for the control hops (control↔tracker link, tracker↔client
 * channel): tests drop messages at random to prove every hop of the
 * disconnect chain is at-least-once. Production passes nothing.
 */
export type Hop = 'control-link' | 'tracker-channel';

export interface MessageFaults {
  /** True to lose this message. Called once per message sent on the hop. */
  drop(hop: Hop, direction: 'send' | 'receive', type: string): boolean;
}

/** Drops each message with probability `p`, from a seeded generator so a failure can be replayed. */
export function randomFaults(p: number, seed = 1): MessageFaults {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
  return { drop: () => next() < p };
}
