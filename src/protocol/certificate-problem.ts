/**
 * Which certificates a client trusts: the system store (Node's roots, plus
 * NODE_EXTRA_CA_CERTS) and any CA given with --ca. HTTPS calls go through
 * undici with an Agent that carries the CA (Node 20's global fetch takes no
 * `ca`); WebSocket clients pass `tlsCa()` to ws, which takes it directly.
 * Set once per process by the command line (`trustCa`); libraries read it.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch, type RequestInit, type Response } from 'undici';

let extra: string[] = [];
let agent: Agent | null = null;

/** Adds a PEM CA (file contents) to what this process's clients trust. */
export function trustCa(pem: string): void {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not a PEM certificate');
  extra = [...extra, pem];
  void agent?.close();
  agent = null;
}

/** Reads a PEM CA file and trusts it; the error names the file. */
export function trustCaFile(path: string): void {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the CA file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    trustCa(pem);
  } catch {
    throw new Error(`the CA file ${path} holds no PEM certificate`);
  }
}

/** Forgets the CAs added (tests). */
export function resetTrust(): void {
  extra = [];
  void agent?.close();
  agent = null;
}

/** The `ca` option for a TLS client: undefined (Node's defaults) unless a CA was added, then system roots plus it. */
export function tlsCa(): string[] | undefined {
  return extra.length > 0 ? [...rootCertificates, ...extra] : undefined;
}

/** fetch that trusts what tlsCa() says. */
export function trustedFetch(url: string, init: RequestInit): Promise<Response> {
  const ca = tlsCa();
  if (ca && !agent) agent = new Agent({ connect: { ca } });
  return undiciFetch(url, agent ? { ...init, dispatcher: agent } : init);
}

const CERT_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** "certificate not trusted (CODE)" if the error, or one it was caused by, is a certificate check failing; else null. */
export function certificateProblem(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && CERT_ERRORS.has(code)) {
      const what = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'certificate does not name this host' : 'certificate is not trusted';
      return `the server's ${what} (${code}); give its CA with --ca FILE or NODE_EXTRA_CA_CERTS`;
    }
  }
  return null;
}
