/**
 * The load side of the admission scenario, in its own process so it does not
 * share the control server's event loop: keeps `concurrency` program requests
 * in flight for `durationS`, with passwords or with device credentials, and
 * reports admissions/s and latencies to the parent over IPC. In `flood` mode
 * it plays a password guesser instead, from its own loopback address.
 */
import { generateKeyPairSync } from 'node:crypto';
import { request } from 'node:http';
import { rawPublicKey } from '../../src/core/piece.js';
import { requestProgram, type DeviceCredential } from '../../src/protocol/control-api.js';

export interface AdmissionLoadSpec {
  controlUrl: string;
  program: string;
  /** `flood`: wrong passwords for the users' names, sent from `localAddress`, as fast as answers come. */
  mode: 'password' | 'device' | 'flood';
  localAddress?: string;
  users: Array<{ user: string; password: string; device: DeviceCredential }>;
  concurrency: number;
  durationS: number;
}

export interface AdmissionLoadResult {
  mode: 'password' | 'device' | 'flood';
  admitted: number;
  refused: number;
  refusals: Record<string, number>;
  seconds: number;
  latenciesMs: number[];
}

/** One wrong-password program request from a chosen local address; resolves with the HTTP status. */
function guess(spec: AdmissionLoadSpec, user: string, clientKey: string): Promise<number> {
  const body = JSON.stringify({ user, password: `guess-${Math.random()}`, client_key: clientKey });
  const url = new URL(`/v1/programs/${encodeURIComponent(spec.program)}/request`, spec.controlUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', localAddress: spec.localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function run(spec: AdmissionLoadSpec): Promise<AdmissionLoadResult> {
  const clientKey = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
  const end = performance.now() + spec.durationS * 1000;
  const started = performance.now();
  const latenciesMs: number[] = [];
  const refusals: Record<string, number> = {};
  let admitted = 0;
  let refused = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      const u = spec.users[next++ % spec.users.length];
      if (!u) return;
      const t0 = performance.now();
      if (spec.mode === 'flood') {
        const status = await guess(spec, u.user, clientKey).catch(() => 0);
        refused++;
        refusals[String(status)] = (refusals[String(status)] ?? 0) + 1;
        continue;
      }
      try {
        await requestProgram(spec.controlUrl, {
          program: spec.program,
          user: u.user,
          clientKey,
          ...(spec.mode === 'password' ? { password: u.password } : { device: u.device }),
        });
        admitted++;
        latenciesMs.push(performance.now() - t0);
      } catch (err) {
        refused++;
        const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : 'error';
        refusals[code] = (refusals[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, lane));
  return { mode: spec.mode, admitted, refused, refusals, seconds: (performance.now() - started) / 1000, latenciesMs };
}

process.once('message', (spec: AdmissionLoadSpec) => {
  run(spec).then(
    (r) => process.send?.(r, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
