import type { Clock } from '../core/clock.js';

/** The real clock; timers are unref'd so they never keep a process alive alone (a deferred call is not a timer). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  // setImmediate: after the I/O callbacks of this turn, so every socket read of the turn is in before it runs.
  // Not unref'd: it is one turn of work already owed, which must run even when nothing else holds the loop.
  defer(fn) {
    const t = setImmediate(fn);
    return { cancel: () => clearImmediate(t) };
  },
};
