/**
 * A tracker in a process of its own, for the cluster tests to `kill -9`: on
 * the Redis swarm store under the test's key prefix, linked to the test's
 * control server. Configured by environment (GC_CONTROL_URL, GC_TRACKER_SECRET,
 * GC_REDIS_URL, GC_REDIS_PREFIX); prints one JSON line with its URLs once its
 * control link is up.
 */
import { createTracker } from '../../src/tracker/create-tracker.js';
import { openRedisSwarmStore } from '../../src/store/redis-swarm-store.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { systemClock } from '../../src/protocol/system-clock.js';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const store = await openRedisSwarmStore(env('GC_REDIS_URL'), {
  prefix: env('GC_REDIS_PREFIX'),
  staleMs: null,
  clock: systemClock,
  onError: (err) => process.stderr.write(`redis: ${err.message}\n`),
});
const tracker = await createTracker({
  controlUrl: env('GC_CONTROL_URL'),
  secret: env('GC_TRACKER_SECRET'),
  port: 0,
  host: '127.0.0.1',
  store,
  webServer: webServerFactory(),
  logger: false,
});
const urls = await tracker.start();
await tracker.ready;
process.stdout.write(`${JSON.stringify(urls)}\n`);
