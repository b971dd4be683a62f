/**
 * The login throttle turned against the operator: the admin's name is fixed
 * ("admin"), so a party with no account can keep it locked with five wrong
 * passwords a minute. The operator's way in past that is an admin device
 * credential (`gatecast login --user admin`), and the broadcaster, which is
 * admitted with the admin account, must be able to use it too, or nobody
 * could start (or restart) a broadcast while the guesses go on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { Broadcaster } from '../../src/broadcast/broadcaster.js';
import { ClientError } from '../../src/core/errors.js';
import { DEFAULTS } from '../../src/core/config.js';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import { loginDevice, requestProgram } from '../../src/protocol/control-api.js';

let sys: LocalSystem;

function programKey(): KeyObject {
  const key = sys.sourceKey('ch1');
  assert.ok(key, 'the local system made ch1 with its own key');
  return key;
}

before(async () => {
  sys = await startLocalSystem({ adminPassword: 'lockout-admin' });
  await sys.addProgram({ id: 'ch1', title: 'ch1' });
});

after(async () => {
  await sys.stop();
});

test("a stranger's guesses lock the admin's password, but not the broadcaster holding an admin device credential", async () => {
  // The operator logged this machine in earlier (gatecast login --user admin).
  const device = await loginDevice(sys.controlUrl, { user: 'admin', password: sys.adminPassword, label: 'studio' });

  // The stranger: wrong passwords for "admin" until the name is throttled.
  const clientKey = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
  for (let i = 0; i < DEFAULTS.loginFailuresPerUser; i++) {
    await assert.rejects(requestProgram(sys.controlUrl, { program: 'ch1', user: 'admin', password: `guess-${i}`, clientKey }), ClientError);
  }
  // The right password is refused for now: that is the throttle working.
  await assert.rejects(
    Broadcaster.start({ controlUrl: sys.controlUrl, program: 'ch1', adminPassword: sys.adminPassword, input: { kind: 'test-pattern', bitrateBps: 500_000 }, uploadRate: null, sourceKey: programKey() }),
    (err: unknown) => err instanceof ClientError && err.code === 'rate_limited',
  );

  // The device credential still admits the broadcaster, and it broadcasts.
  const b = await Broadcaster.start({
    controlUrl: sys.controlUrl,
    program: 'ch1',
    adminPassword: { device: device.device, secret: device.secret },
    input: { kind: 'test-pattern', bitrateBps: 500_000 },
    uploadRate: null,
    sourceKey: programKey(),
  });
  try {
    assert.equal(b.metadata.program, 'ch1');
  } finally {
    await b.stop();
  }
});
