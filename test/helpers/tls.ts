/** A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost (pure JS: no openssl CLI). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface TestPki {
  caPem: string;
  cert: string;
  key: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A second CA that signed nothing here: trusting it instead must fail. */
  otherCaFile: string;
  cleanup(): void;
}

async function makeCa(name: string): Promise<{ cert: string; private: string }> {
  return selfsigned.generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 2 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
}

export async function makeTestPki(): Promise<TestPki> {
  const ca = await makeCa('gatecast test CA');
  const other = await makeCa('some other CA');
  const server = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 2 * 86_400_000),
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'gatecast-pki-'));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  return {
    caPem: ca.cert,
    cert: server.cert,
    key: server.private,
    caFile: file('ca.pem', ca.cert),
    certFile: file('server.pem', server.cert),
    keyFile: file('server.key', server.private),
    otherCaFile: file('other-ca.pem', other.cert),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
