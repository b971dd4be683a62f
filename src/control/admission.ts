/**
 * Admission (steps a–b) and token renewal: authenticates a user against the
 * customer database (password or device credential, throttled: see
 * login-authenticator.ts), checks the subscription, opens a session and signs
 * the access token bound to it. HTTP-free, so routes only parse and answer.
 */
import { verify } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import { ed25519PublicKey } from '../core/piece.js';
import type { ControlStore } from '../core/ports.js';
import type { TokenRole } from '../core/token.js';
import type { AdmissionResult, Program, SessionRecord, Subscription, User } from '../core/types.js';
import { renewMessage, type RenewResult, type SourceAdmission } from '../protocol/control-api.js';
import { signAccessToken } from '../protocol/token.js';
import { buildMetadata } from './metadata.js';
import { LoginAuthenticator } from './login-authenticator.js';
import type { LoginLimits } from './login-throttle.js';
import type { SessionLimit } from './session-limit.js';
import type { SigningKey } from './signing-key.js';
import type { TrackerInfo, TrackerRegistry } from './tracker-registry.js';
import { newId } from './ids.js';

/** How far a renewal proof's timestamp may be from the server's clock. */
export const RENEW_SKEW_MS = 60_000;

export interface AdmissionDeps {
  store: ControlStore;
  clock: Clock;
  signingKey: SigningKey;
  tokenTtlS: number;
  trackers: TrackerRegistry;
  /** Login throttle limits (DEFAULTS when absent). */
  loginLimits?: LoginLimits;
  /** The concurrent-session limit (session-limit.ts); none when absent. */
  sessionLimit?: SessionLimit;
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

/** How a viewer proves who it is at admission: its password, or a device credential from `gatecast login`. */
export type ViewerCredentials = { user: string; password: string } | { user: string; device: string; deviceSecret: string };

export class Admission {
  readonly logins: LoginAuthenticator;
  /** Round-robin over the connected trackers (trackers()). */
  private nextTracker = 0;

  constructor(private readonly deps: AdmissionDeps) {
    this.logins = new LoginAuthenticator({ store: deps.store, clock: deps.clock, limits: deps.loginLimits });
  }

  /** A user's password, throttled per user and per address; the same error for an unknown user and a wrong password. */
  async authenticate(name: string, password: string, address: string): Promise<User> {
    return this.logins.password(name, password, address);
  }

  /** Admin Basic auth: the same refusal for an unknown user, a wrong password and a non-admin; repeats cost no hash. */
  async authenticateAdmin(name: string, password: string, address: string): Promise<User> {
    return this.logins.admin(name, password, address);
  }

  /** Steps a–b. The credentials are checked first: nothing about the program is told to a caller who has none. */
  async requestProgram(programId: string, req: ViewerCredentials & { clientKey: string }, address: string): Promise<AdmissionResult> {
    checkClientKey(req.clientKey);
    const user =
      'password' in req
        ? (await this.logins.password(req.user, req.password, address)).name
        : await this.logins.device(req.user, req.device, req.deviceSecret, address);
    const program = await this.program(programId);
    const now = this.deps.clock.now();
    const sub = await this.deps.store.getSubscription(user, program.id);
    if (!isSubscriptionActive(sub, now)) {
      throw new ClientError(
        'not_subscribed',
        sub ? `subscription of ${user} to ${program.id} has expired` : `${user} has no subscription to ${program.id}`,
      );
    }
    const trackers = this.trackers();
    const open = (): Promise<AdmissionResult> => this.openSession(program, user, 'viewer', req.clientKey, trackers);
    return this.deps.sessionLimit ? this.deps.sessionLimit.admit(user, sub, open) : open();
  }

  /**
   * A broadcaster's admission: a session in the source role, never a signing
   * key. A program from before (its private key made and kept by the control
   * server) is refused until the operator rekeys it where the broadcaster runs.
   */
  async admitSource(programId: string, adminName: string, clientKey: string): Promise<SourceAdmission> {
    checkClientKey(clientKey);
    const program = await this.program(programId);
    if (program.sourcePrivateKey !== '') {
      throw new ClientError(
        'source_key_on_server',
        `program ${program.id}'s signing key was made by the control server, which no longer hands it out: ` +
          `run \`gatecast admin programs rekey ${program.id}\` on the broadcaster's machine (the info hash changes)`,
      );
    }
    const trackers = this.trackers();
    return this.openSession(program, adminName, 'source', clientKey, trackers);
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

  /**
   * Every tracker of the cluster, the most recently connected first (as when there
   * was one), the list rotated by one per admission: clients spread over the
   * trackers round-robin, and those of a lost tracker spread over the others
   * too (each moves to the next of its list).
   */
  private trackers(): TrackerInfo[] {
    // The one place the connected trackers are read: those of every control server sharing the database (the shared
    // directory's). Reversed first: ties in connectedAt keep the later registration first.
    const all = this.deps.trackers
      .listAll()
      .reverse()
      .sort((a, b) => b.connectedAt - a.connectedAt);
    if (all.length === 0) throw new ClientError('no_tracker', 'no tracker is connected to the control server; try again shortly');
    const first = this.nextTracker++ % all.length;
    if (this.nextTracker >= Number.MAX_SAFE_INTEGER) this.nextTracker = 0;
    return [...all.slice(first), ...all.slice(0, first)];
  }

  private async openSession(
    program: Program,
    user: string,
    role: TokenRole,
    clientKey: string,
    trackers: TrackerInfo[],
  ): Promise<AdmissionResult> {
    const now = this.deps.clock.now();
    const session: SessionRecord = {
      id: newId(16),
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
      metadata: buildMetadata(program, trackers, token, this.deps.signingKey.publicKey),
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
