/**
 * Admission (steps a–b) and token renewal: authenticates a user against the
 * customer database, checks the subscription, opens a session and signs the
 * access token bound to it. HTTP-free, so routes only parse and answer.
 */
import { createHash, randomBytes, verify } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import { ed25519PublicKey } from '../core/piece.js';
import type { ControlStore } from '../core/ports.js';
import type { TokenRole } from '../core/token.js';
import type { AdmissionResult, Program, SessionRecord, Subscription, User } from '../core/types.js';
import { renewMessage, type RenewResult, type SourceAdmission } from '../protocol/control-api.js';
import { signAccessToken } from '../protocol/token.js';
import { buildMetadata } from './metadata.js';
import { DUMMY_HASH, verifyPassword } from './passwords.js';
import type { SigningKey } from './signing-key.js';
import type { TrackerInfo, TrackerRegistry } from './tracker-registry.js';

/** How far a renewal proof's timestamp may be from the server's clock. */
export const RENEW_SKEW_MS = 60_000;

export interface AdmissionDeps {
  store: ControlStore;
  clock: Clock;
  signingKey: SigningKey;
  tokenTtlS: number;
  trackers: TrackerRegistry;
}

export function isSubscriptionActive(sub: Subscription | undefined, now: number): boolean {
  return sub !== undefined && (sub.until === null || sub.until > now);
}

function checkClientKey(clientKey: string): void {
  try {
    ed25519PublicKey(clientKey);
  } catch {
    throw new ClientError('invalid_request', 'client_key: not a raw Ed25519 public key (32 bytes, base64url)');
  }
}

/** Verified admin credentials kept, so admin calls (a kick) don't each pay a scrypt hash. */
const MAX_VERIFIED = 64;

export class Admission {
  /**
   * sha256(name, password) → the password hash it was checked against. An entry
   * only counts while the user's stored hash is still that one, so a changed
   * password or a removed user is never let in from here.
   */
  private readonly verified = new Map<string, string>();

  constructor(private readonly deps: AdmissionDeps) {}

  /** Same error, and about the same time, for an unknown user and a wrong password. */
  async authenticate(name: string, password: string): Promise<User> {
    const user = await this.deps.store.getUser(name);
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) throw new ClientError('invalid_credentials', 'wrong user name or password');
    return user;
  }

  /** authenticate() for admin calls: a repeat of credentials already verified costs one lookup. */
  async authenticateAdmin(name: string, password: string): Promise<User> {
    const key = createHash('sha256').update(name).update('\0').update(password).digest('hex');
    const known = this.verified.get(key);
    if (known !== undefined) {
      const user = await this.deps.store.getUser(name);
      if (user && user.passwordHash === known) return user;
      this.verified.delete(key);
    }
    const user = await this.authenticate(name, password);
    if (user.isAdmin) {
      if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
      this.verified.set(key, user.passwordHash);
    }
    return user;
  }

  async requestProgram(programId: string, req: { user: string; password: string; clientKey: string }): Promise<AdmissionResult> {
    checkClientKey(req.clientKey);
    const program = await this.program(programId);
    const user = await this.authenticate(req.user, req.password);
    const now = this.deps.clock.now();
    const sub = await this.deps.store.getSubscription(user.name, program.id);
    if (!isSubscriptionActive(sub, now)) {
      throw new ClientError(
        'not_subscribed',
        sub ? `subscription of ${user.name} to ${program.id} has expired` : `${user.name} has no subscription to ${program.id}`,
      );
    }
    const tracker = this.tracker();
    return this.openSession(program, user.name, 'viewer', req.clientKey, tracker);
  }

  /** A broadcaster's admission: a session in the source role and the program's signing key. */
  async admitSource(programId: string, adminName: string, clientKey: string): Promise<SourceAdmission> {
    checkClientKey(clientKey);
    const program = await this.program(programId);
    const tracker = this.tracker();
    const admission = await this.openSession(program, adminName, 'source', clientKey, tracker);
    return { ...admission, source_private_key: program.sourcePrivateKey };
  }

  async renew(sid: string, ts: number, sig: string): Promise<RenewResult> {
    const { store, clock } = this.deps;
    const session = await store.getSession(sid);
    if (!session) throw new ClientError('unknown_session', `no such session: ${sid}`);
    const now = clock.now();
    if (Math.abs(now - ts) >= RENEW_SKEW_MS) {
      throw new ClientError('proof_invalid', 'renewal proof timestamp is more than 60 s away from the server clock');
    }
    const signature = Buffer.from(sig, 'base64url');
    if (signature.length !== 64 || !verify(null, renewMessage(sid, ts), ed25519PublicKey(session.clientKey), signature)) {
      throw new ClientError('proof_invalid', 'renewal proof is not signed by the session key');
    }
    if (session.state === 'ended') {
      throw new ClientError('session_ended', `session ${sid} has ended${session.endReason ? ` (${session.endReason})` : ''}`);
    }
    // Refused from the first step of a disconnect, not only once the chain completes.
    const [ending] = await store.listDisconnects({ sid, pending: true, limit: 1 });
    if (ending) throw new ClientError('session_ended', `session ${sid} is being ended (${ending.reason})`);
    await this.checkStillEntitled(session, now);
    const { token, expiresAt } = await this.sign(session, now);
    return { token, token_expires_at: expiresAt };
  }

  private async checkStillEntitled(session: SessionRecord, now: number): Promise<void> {
    const { store } = this.deps;
    if (session.role === 'source') {
      const user = await store.getUser(session.user);
      if (!user?.isAdmin) throw new ClientError('forbidden', `${session.user} may no longer broadcast`);
      await this.program(session.program);
      return;
    }
    const sub = await store.getSubscription(session.user, session.program);
    if (!isSubscriptionActive(sub, now)) {
      throw new ClientError('not_subscribed', `subscription of ${session.user} to ${session.program} is missing or has expired`);
    }
  }

  private async program(id: string): Promise<Program> {
    const program = await this.deps.store.getProgram(id);
    if (!program) throw new ClientError('unknown_program', `no such program: ${id}`);
    return program;
  }

  private tracker(): TrackerInfo {
    const tracker = this.deps.trackers.current();
    if (!tracker) throw new ClientError('no_tracker', 'no tracker is connected to the control server; try again shortly');
    return tracker;
  }

  private async openSession(
    program: Program,
    user: string,
    role: TokenRole,
    clientKey: string,
    tracker: TrackerInfo,
  ): Promise<AdmissionResult> {
    const now = this.deps.clock.now();
    const session: SessionRecord = {
      id: randomBytes(16).toString('base64url'),
      user,
      program: program.id,
      role,
      clientKey,
      state: 'admitted',
      ip: null,
      port: null,
      trackerId: null,
      createdAt: now,
      joinedAt: null,
      endedAt: null,
      endReason: null,
    };
    await this.deps.store.createSession(session);
    const { token, expiresAt } = await this.sign(session, now);
    return {
      session: session.id,
      token,
      token_expires_at: expiresAt,
      metadata: buildMetadata(program, tracker, token, this.deps.signingKey.publicKey),
    };
  }

  private sign(session: SessionRecord, now: number): Promise<{ token: string; expiresAt: number }> {
    return signAccessToken(
      this.deps.signingKey.privateKey,
      { sub: session.user, sid: session.id, prg: session.program, role: session.role, ckey: session.clientKey },
      now,
      this.deps.tokenTtlS,
    );
  }
}
