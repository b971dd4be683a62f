/**
 * Turns a failed TLS client connection into the message a user can act on.
 * Which certificates a client trusts is a value handed to it (core/ports.ts
 * ClientTrust, built by cli/trust.ts); this only names what went wrong.
 */
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
