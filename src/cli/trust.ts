/**
 * Builds the client trust (core/ports.ts ClientTrust) from --ca: Node's
 * defaults (its roots plus NODE_EXTRA_CA_CERTS) without it; with it, those
 * plus the given CA. HTTPS calls go through undici with an Agent that carries
 * the CA (Node 20's global fetch takes no `ca`); WebSocket clients pass `ca`
 * to ws, which takes it directly. Built once by each command and handed to
 * every client it starts: no process-wide trust setting.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import type { ClientTrust } from '../core/ports.js';

const PEM_CERT = '-----BEGIN CERTIFICATE-----';

/** Node's defaults: its roots and NODE_EXTRA_CA_CERTS. */
export const SYSTEM_TRUST: ClientTrust = { ca: undefined, fetch: (url, init) => undiciFetch(url, init) };

/** Trusts the system store plus these PEM CAs (file contents). */
export function trustWith(pems: string[], env: NodeJS.ProcessEnv = process.env): ClientTrust {
  if (pems.length === 0) return SYSTEM_TRUST;
  for (const pem of pems) if (!pem.includes(PEM_CERT)) throw new Error('not a PEM certificate');
  // A `ca` option replaces Node's list, NODE_EXTRA_CA_CERTS included: keep what Node would have trusted.
  const ca = [...rootCertificates, ...extraFromEnv(env), ...pems];
  const agent = new Agent({ connect: { ca } });
  return { ca, fetch: (url, init) => undiciFetch(url, { ...init, dispatcher: agent }) };
}

/** --ca FILE (or none): the trust of a command's clients; the error names the file. */
export function loadTrust(caFile: string | undefined, env: NodeJS.ProcessEnv = process.env): ClientTrust {
  if (!caFile) return SYSTEM_TRUST;
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the CA file ${caFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!pem.includes(PEM_CERT)) throw new Error(`the CA file ${caFile} holds no PEM certificate`);
  return trustWith([pem], env);
}

/** NODE_EXTRA_CA_CERTS as Node reads it at start; an unreadable file is skipped, as Node does (with a warning). */
function extraFromEnv(env: NodeJS.ProcessEnv): string[] {
  const path = env['NODE_EXTRA_CA_CERTS'];
  if (!path) return [];
  try {
    const pem = readFileSync(path, 'utf8');
    return pem.includes(PEM_CERT) ? [pem] : [];
  } catch {
    return [];
  }
}
