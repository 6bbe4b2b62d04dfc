// The proxy's serving certificate: a CA (whose PEM goes into every APIService's caBundle) and a leaf for
// <service>.<namespace>.svc, kept in one Secret. The leaf is re-issued well before expiry or when its name changes;
// the CA is kept so caBundles stay valid across leaf rotations.
import { X509Certificate } from 'node:crypto';
import {
  certificateValidity,
  createCertificateAuthority,
  issueCertificate,
  type KeyPair,
} from '../pki/certificates.ts';

const day = 24 * 3600 * 1000;
export const leafLifetimeMs = 90 * day;
/** Re-issue the leaf when less than this is left. */
export const leafRenewBeforeMs = 30 * day;
const caLifetimeMs = 10 * 365 * day;
const caRenewBeforeMs = 365 * day;

export interface ServingMaterial {
  ca: KeyPair;
  leaf: KeyPair;
  /** When the leaf must be looked at again. */
  renewAt: Date;
  rotated: boolean;
}

const decode = (data: Record<string, string> | undefined, key: string) =>
  data?.[key] ? Buffer.from(data[key], 'base64').toString('utf8') : undefined;

export async function servingMaterial(
  existing: Record<string, string> | undefined,
  dnsName: string,
  now: Date,
): Promise<ServingMaterial> {
  const caCert = decode(existing, 'ca.crt');
  const caKey = decode(existing, 'ca.key');
  const leafCert = decode(existing, 'tls.crt');
  const leafKey = decode(existing, 'tls.key');
  let ca: KeyPair | undefined = caCert && caKey ? { certPem: caCert, keyPem: caKey } : undefined;
  if (ca && certificateValidity(ca.certPem).notAfter.getTime() - now.getTime() < caRenewBeforeMs)
    ca = undefined;
  if (ca && leafCert && leafKey && leafCovers(leafCert, dnsName)) {
    const renewAt = new Date(certificateValidity(leafCert).notAfter.getTime() - leafRenewBeforeMs);
    if (renewAt > now) return { ca, leaf: { certPem: leafCert, keyPem: leafKey }, renewAt, rotated: false };
  }
  ca ??= await createCertificateAuthority('ctp-connector-proxy-ca', caLifetimeMs);
  const leaf = await issueCertificate(ca, {
    commonName: dnsName,
    dnsNames: [dnsName, 'localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
    validityMs: leafLifetimeMs,
  });
  return { ca, leaf, renewAt: new Date(now.getTime() + leafLifetimeMs - leafRenewBeforeMs), rotated: true };
}

function leafCovers(certPem: string, dnsName: string): boolean {
  try {
    return new X509Certificate(certPem).checkHost(dnsName) === dnsName;
  } catch {
    return false;
  }
}
