/**
 * Every credential check of the control server: passwords (admission, admin
 * Basic auth, device login) and device credentials. Password checks go through
 * the LoginThrottle *before* any hashing, per user name and per client
 * address. Every refusal of one kind is the same error, whatever the reason
 * (unknown user, wrong password, not an admin), and costs the same scrypt
 * (a dummy hash stands in for an unknown user): no answer and no timing tells
 * which names exist or which password is right.
 *
 * A valid device credential is not subject to the per-user lock: a guess
 * flood against a user name cannot lock out a device that logged in before
 * (OWASP's "device cookie" defence) — for viewers, and for the operator on
 * the admin routes. Its secret is 256 random bits, so it
 * needs no throttle to be unguessable; wrong ones still count against the
 * address, so a flood of them is refused cheaply.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ClientError, RateLimitedError } from '../core/errors.js';
import type { ControlStore } from '../core/ports.js';
import type { User } from '../core/types.js';
import { DeviceCredentials, type IssuedDevice } from './device-credentials.js';
import { LoginThrottle, addressKey, userKey, type LoginLimits } from './login-throttle.js';
import { DUMMY_HASH, verifyPassword } from './passwords.js';

export const WRONG_CREDENTIALS = 'wrong user name or password';
export const WRONG_ADMIN_CREDENTIALS = 'wrong admin user name or password';
export const DEVICE_REFUSED = "this device's login was revoked or expired: run gatecast login";

/** Verified admin credentials kept, so admin calls (a kick) don't each pay a scrypt hash. */
const MAX_VERIFIED = 64;

export interface LoginAuthenticatorDeps {
  store: ControlStore;
  clock: Clock;
  limits?: LoginLimits;
  deviceTtlS?: number;
  maxDevicesPerUser?: number;
}

export class LoginAuthenticator {
  readonly throttle: LoginThrottle;
  readonly devices: DeviceCredentials;
  /**
   * sha256(name, password) → the password hash it was checked against. An entry
   * only counts while the user's stored hash is still that one, so a changed
   * password or a removed user is never let in from here.
   */
  private readonly verified = new Map<string, string>();

  constructor(private readonly deps: LoginAuthenticatorDeps) {
    this.throttle = new LoginThrottle(deps.clock, deps.limits);
    this.devices = new DeviceCredentials({ store: deps.store, clock: deps.clock, ttlS: deps.deviceTtlS, maxPerUser: deps.maxDevicesPerUser });
  }

  /** A user's password, throttled; ClientError invalid_credentials for any wrong pair. */
  password(name: string, password: string, address: string): Promise<User> {
    return this.throttled(name, address, () => new ClientError('invalid_credentials', WRONG_CREDENTIALS), async () => {
      const user = await this.deps.store.getUser(name);
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
      return user && ok ? user : undefined;
    });
  }

  /**
   * An admin's password, throttled like any other: a non-admin's right
   * password is refused exactly like a wrong one, and counts as a failure.
   * A repeat of credentials already verified costs one lookup, no hash.
   */
  admin(name: string, password: string, address: string): Promise<User> {
    return this.throttled(name, address, () => new ClientError('unauthorized', WRONG_ADMIN_CREDENTIALS), async () => {
      const key = createHash('sha256').update(name).update('\0').update(password).digest('hex');
      const known = this.verified.get(key);
      const user = await this.deps.store.getUser(name);
      if (known !== undefined) {
        if (user?.isAdmin && user.passwordHash === known) return user;
        this.verified.delete(key);
      }
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
      if (!user || !ok || !user.isAdmin) return undefined;
      if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
      this.verified.set(key, user.passwordHash);
      return user;
    });
  }

  /** A device credential of `name`; ClientError login_required for any that is not (unknown, wrong, revoked, expired). */
  async device(name: string, device: string, secret: string, address: string): Promise<string> {
    const record = await this.devices.verify(device, secret);
    if (record && record.user === name) return record.user;
    const decision = await this.throttle.begin([{ key: addressKey(address), limit: this.throttle.limits.perAddress }]);
    if (!decision.allowed) throw new RateLimitedError(decision.retryAfterS);
    decision.attempt.failed();
    throw new ClientError('login_required', DEVICE_REFUSED);
  }

  /**
   * Admin routes with a device credential of an admin (`gatecast login` as
   * the admin): the operator's way in that a guess flood against the admin's
   * name cannot lock. Refused exactly like a wrong admin password.
   */
  async adminDevice(device: string, secret: string, address: string): Promise<User> {
    const record = await this.devices.verify(device, secret);
    const user = record ? await this.deps.store.getUser(record.user) : undefined;
    if (user?.isAdmin) return user;
    const decision = await this.throttle.begin([{ key: addressKey(address), limit: this.throttle.limits.perAddress }]);
    if (!decision.allowed) throw new RateLimitedError(decision.retryAfterS);
    decision.attempt.failed();
    throw new ClientError('unauthorized', WRONG_ADMIN_CREDENTIALS);
  }

  /** `gatecast login`: the password (throttled) for a new device credential. */
  async login(name: string, password: string, address: string, label: string): Promise<IssuedDevice & { user: string }> {
    const user = await this.password(name, password, address);
    return { ...(await this.devices.issue(user.name, label)), user: user.name };
  }

  /** `gatecast logout`: the device revokes itself with its own secret. */
  async logout(device: string, secret: string): Promise<void> {
    if (!(await this.devices.revoke(device, secret))) throw new ClientError('login_required', DEVICE_REFUSED);
  }

  private async throttled(name: string, address: string, refusal: () => ClientError, check: () => Promise<User | undefined>): Promise<User> {
    const { limits } = this.throttle;
    const decision = await this.throttle.begin([
      { key: userKey(name), limit: limits.perUser },
      { key: addressKey(address), limit: limits.perAddress },
    ]);
    if (!decision.allowed) throw new RateLimitedError(decision.retryAfterS);
    let user: User | undefined;
    try {
      user = await check();
    } finally {
      if (user) decision.attempt.succeeded();
      else decision.attempt.failed();
    }
    if (!user) throw refusal();
    return user;
  }
}
