/**
 * Device credentials: `gatecast login` trades a password for a device id and
 * a 256-bit random secret, which then admits its user instead of the password.
 * Only sha256(secret) is stored: a secret that random needs no slow hash, so
 * an admission with it costs one SHA-256, not a scrypt. Revocation deletes the
 * device; so does expiry (checked on use, swept on the user's next login).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { ControlStore } from '../core/ports.js';
import type { DeviceRecord } from '../core/types.js';
import { newId } from './ids.js';

export interface DeviceCredentialsDeps {
  store: ControlStore;
  clock: Clock;
  ttlS?: number;
  maxPerUser?: number;
}

export interface IssuedDevice {
  device: string;
  secret: string;
  expiresAt: number;
}

const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

export class DeviceCredentials {
  private readonly ttlMs: number;
  private readonly maxPerUser: number;

  constructor(private readonly deps: DeviceCredentialsDeps) {
    this.ttlMs = (deps.ttlS ?? DEFAULTS.deviceTtlS) * 1000;
    this.maxPerUser = deps.maxPerUser ?? DEFAULTS.maxDevicesPerUser;
  }

  /** A new device for `user` (already authenticated). Past the per-user cap, the oldest devices are revoked. */
  async issue(user: string, label: string): Promise<IssuedDevice> {
    const { store, clock } = this.deps;
    const now = clock.now();
    await store.deleteDevicesOfUser(user, { expiredAt: now });
    const existing = await store.listDevices(user);
    for (const old of existing.slice(0, Math.max(0, existing.length - this.maxPerUser + 1))) await store.deleteDevice(old.id);
    const device = newId(16);
    const secret = randomBytes(32).toString('base64url');
    const record: DeviceRecord = { id: device, user, secretHash: hashSecret(secret).toString('hex'), label, createdAt: now, expiresAt: now + this.ttlMs };
    await store.createDevice(record);
    return { device, secret, expiresAt: record.expiresAt };
  }

  /** The device if the secret is its own and it has not expired; undefined for anything else, alike. */
  async verify(device: string, secret: string): Promise<DeviceRecord | undefined> {
    const record = await this.deps.store.getDevice(device);
    const given = hashSecret(secret);
    const stored = Buffer.from(record?.secretHash ?? '', 'hex');
    const matches = stored.length === given.length && timingSafeEqual(stored, given);
    if (!record || !matches) return undefined;
    if (record.expiresAt <= this.deps.clock.now()) {
      await this.deps.store.deleteDevice(record.id);
      return undefined;
    }
    return record;
  }

  /** Logout: revokes the device if the secret is its own. */
  async revoke(device: string, secret: string): Promise<boolean> {
    const record = await this.verify(device, secret);
    return record ? this.deps.store.deleteDevice(record.id) : false;
  }

  /** Revokes every device of the user; returns how many. */
  revokeAll(user: string): Promise<number> {
    return this.deps.store.deleteDevicesOfUser(user);
  }
}
