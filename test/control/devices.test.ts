/**
 * Device credentials over a real socket: a password traded for a device
 * credential that admits instead of the password, stored only as a hash,
 * refused alike once revoked (logout, admin logout-all), expired, wrong or
 * shown for another user; and a guess flood against the user's name does not
 * lock out a device that logged in before.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DEFAULTS } from '../../src/core/config.js';
import { ClientError } from '../../src/core/errors.js';
import { loginDevice, logoutDevice, requestProgram, type DeviceCredential } from '../../src/protocol/control-api.js';
import { ADMIN_PASSWORD, admin, newClientKey, startWithTracker } from './helpers.js';

type Started = Awaited<ReturnType<typeof startWithTracker>>;
let h: Started | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const watchWith = (url: string, user: string, device: DeviceCredential) =>
  requestProgram(url, { program: 'news', user, device, clientKey: newClientKey().publicKey });

async function refusedWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ClientError && err.code === code);
}

describe('device credentials', () => {
  it('a device logs in with the password, is admitted with its credential, and the store keeps only a hash of the secret', async () => {
    h = await startWithTracker();
    const login = await loginDevice(h.url, { user: 'alice', password: 'pw-alice', label: 'laptop' });
    assert.equal(login.user, 'alice');
    assert.match(login.secret, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
    assert.equal(login.expires_at, h.clock.now() + DEFAULTS.deviceTtlS * 1000);
    const stored = await h.store.getDevice(login.device);
    assert.ok(stored);
    assert.equal(stored.secretHash, createHash('sha256').update(login.secret).digest('hex'));
    assert.ok(!JSON.stringify(stored).includes(login.secret));
    const admitted = await watchWith(h.url, 'alice', login);
    assert.equal(admitted.metadata.program, 'news');
  });

  it('an admission with both a password and a device, or neither, is a bad request', async () => {
    h = await startWithTracker();
    const login = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    const ask = (body: Record<string, unknown>) =>
      fetch(`${h?.url}/v1/programs/news/request`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'alice', client_key: newClientKey().publicKey, ...body }),
      }).then((r) => r.status);
    assert.equal(await ask({ password: 'pw-alice', device: login.device, device_secret: login.secret }), 400);
    assert.equal(await ask({}), 400);
    assert.equal(await ask({ device: login.device }), 400);
    assert.equal(await ask({ device: login.device, device_secret: login.secret }), 200);
  });

  it('a wrong secret, an unknown device and a device shown for another user are refused alike', async () => {
    h = await startWithTracker();
    await admin(h, 'POST', '/v1/admin/users', { name: 'bob', password: 'pw-bob' });
    const login = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    const messages: string[] = [];
    for (const [user, cred] of [
      ['alice', { device: login.device, secret: 'A'.repeat(43) }],
      ['alice', { device: 'B'.repeat(22), secret: login.secret }],
      ['bob', login],
    ] as const) {
      await assert.rejects(watchWith(h.url, user, cred), (err: unknown) => {
        assert.ok(err instanceof ClientError && err.code === 'login_required');
        messages.push(err.message);
        return true;
      });
    }
    assert.equal(new Set(messages).size, 1);
    assert.match(messages[0] ?? '', /revoked or expired: run gatecast login/);
  });

  it('logout revokes the device: its next admission and a second logout are refused', async () => {
    h = await startWithTracker();
    const login = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    await refusedWith(logoutDevice(h.url, { device: login.device, secret: 'A'.repeat(43) }), 'login_required');
    await logoutDevice(h.url, login);
    await refusedWith(watchWith(h.url, 'alice', login), 'login_required');
    await refusedWith(logoutDevice(h.url, login), 'login_required');
  });

  it("admin logout-all revokes every device of the user and no one else's", async () => {
    h = await startWithTracker();
    await admin(h, 'POST', '/v1/admin/users', { name: 'bob', password: 'pw-bob' });
    await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'bob', program: 'news', until: null });
    const a1 = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    const a2 = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    const b1 = await loginDevice(h.url, { user: 'bob', password: 'pw-bob' });
    const listed = await admin(h, 'GET', '/v1/admin/users/alice/devices');
    assert.equal((listed.body as { devices: unknown[] }).devices.length, 2);
    const res = await admin(h, 'POST', '/v1/admin/users/alice/logout-all');
    assert.equal(res.status, 200);
    assert.equal((res.body as { devices_revoked: number }).devices_revoked, 2);
    await refusedWith(watchWith(h.url, 'alice', a1), 'login_required');
    await refusedWith(watchWith(h.url, 'alice', a2), 'login_required');
    assert.equal((await watchWith(h.url, 'bob', b1)).metadata.program, 'news');
    assert.equal((await admin(h, 'POST', '/v1/admin/users/nobody/logout-all')).status, 404);
  });

  it('logout-all is an admin route: anyone else gets the one admin refusal', async () => {
    h = await startWithTracker();
    const res = await fetch(`${h.url}/v1/admin/users/alice/logout-all`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('alice:pw-alice').toString('base64')}` },
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { message: string } }).error.message, 'wrong admin user name or password');
  });

  it('a device credential expires after DEFAULTS.deviceTtlS', async () => {
    h = await startWithTracker();
    const login = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    h.clock.advance(DEFAULTS.deviceTtlS * 1000 - 1_000);
    assert.equal((await watchWith(h.url, 'alice', login)).metadata.program, 'news');
    h.clock.advance(1_000);
    await refusedWith(watchWith(h.url, 'alice', login), 'login_required');
  });

  it('past the per-user cap, a new login ends the oldest device', async () => {
    h = await startWithTracker();
    const first = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    h.clock.advance(1);
    for (let i = 1; i < DEFAULTS.maxDevicesPerUser; i++) {
      await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
      h.clock.advance(1);
    }
    assert.equal((await h.store.listDevices('alice')).length, DEFAULTS.maxDevicesPerUser);
    assert.equal((await watchWith(h.url, 'alice', first)).metadata.program, 'news');
    await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    assert.equal((await h.store.listDevices('alice')).length, DEFAULTS.maxDevicesPerUser);
    await refusedWith(watchWith(h.url, 'alice', first), 'login_required');
  });

  it('wrong device secrets count against the address: a flood of them is refused with 429, a valid device still admits', async () => {
    h = await startWithTracker();
    const login = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    const codes: string[] = [];
    for (let i = 0; i < DEFAULTS.loginFailuresPerAddress + 5; i++) {
      await watchWith(h.url, 'alice', { device: login.device, secret: `${String(i).padStart(3, '0')}${'A'.repeat(40)}` }).catch((err: unknown) => {
        codes.push(err instanceof ClientError ? err.code : 'other');
      });
    }
    assert.deepEqual(codes.slice(0, DEFAULTS.loginFailuresPerAddress), Array<string>(DEFAULTS.loginFailuresPerAddress).fill('login_required'));
    assert.deepEqual(codes.slice(DEFAULTS.loginFailuresPerAddress), Array<string>(5).fill('rate_limited'));
    // Passwords from this address are throttled now; the valid device is not.
    await refusedWith(requestProgram(h.url, { program: 'news', user: 'alice', password: 'pw-alice', clientKey: newClientKey().publicKey }), 'rate_limited');
    assert.equal((await watchWith(h.url, 'alice', login)).metadata.program, 'news');
  });

  it("the operator's device login opens the admin routes while a guess flood has the admin's password throttled", async () => {
    h = await startWithTracker();
    const adminLogin = await loginDevice(h.url, { user: 'admin', password: ADMIN_PASSWORD });
    const aliceLogin = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    const get = async (authorization: string) => {
      const res = await fetch(`${h?.url}/v1/admin/users`, { headers: { authorization } });
      return { status: res.status, body: await res.text() };
    };
    const basic = (pw: string) => `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}`;
    for (let i = 0; i < 6; i++) await get(basic(`guess-${i}`));
    assert.equal((await get(basic(ADMIN_PASSWORD))).status, 429, "the admin's password is throttled");
    assert.equal((await get(`Bearer ${adminLogin.device}.${adminLogin.secret}`)).status, 200, "the admin's device is not");
    // A non-admin's device, or a wrong secret, gets the one admin refusal.
    h.clock.advance(DEFAULTS.loginWindowMs);
    const wrongPassword = await get(basic('nope'));
    assert.equal(wrongPassword.status, 401);
    assert.deepEqual(await get(`Bearer ${aliceLogin.device}.${aliceLogin.secret}`), wrongPassword);
    assert.deepEqual(await get(`Bearer ${adminLogin.device}.${'A'.repeat(43)}`), wrongPassword);
  });

  it('a guess flood against the user name does not lock out a device that logged in before', async () => {
    h = await startWithTracker();
    const login = await loginDevice(h.url, { user: 'alice', password: 'pw-alice' });
    for (let i = 0; i < 10; i++) {
      await requestProgram(h.url, { program: 'news', user: 'alice', password: `guess-${i}`, clientKey: newClientKey().publicKey }).catch(() => undefined);
    }
    await refusedWith(requestProgram(h.url, { program: 'news', user: 'alice', password: 'pw-alice', clientKey: newClientKey().publicKey }), 'rate_limited');
    assert.equal((await watchWith(h.url, 'alice', login)).metadata.program, 'news');
  });
});
