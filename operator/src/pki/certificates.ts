// X.509 certificate authorities and leaf certificates for the proxy's serving certificate and for the local test
// clusters. ECDSA P-256 keys: fast to generate in-process and accepted by kube-apiserver, Go TLS and Node TLS. A CA
// may also hold an RSA key (PKCS#1 or PKCS#8), as the CAs that Crossplane generates do.
import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import { X509Certificate as NodeX509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const rsaAlgorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** PEM-encoded certificate and private key (PKCS#8; a CA's may be an RSA key in PKCS#1). */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateRequest {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client' | 'server-and-client';
  /** Lifetime of the certificate; defaults to one year. */
  validityMs?: number;
}

const year = 365 * 24 * 3600 * 1000;
/** Back-date certificates a little so small clock differences between hosts do not reject them. */
const clockSkewMs = 5 * 60 * 1000;

export async function createCertificateAuthority(
  commonName: string,
  validityMs = 10 * year,
): Promise<KeyPair> {
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(commonName),
    notBefore: new Date(now - clockSkewMs),
    notAfter: new Date(now + validityMs),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportPrivateKey(keys.privateKey) };
}

export async function issueCertificate(ca: KeyPair, request: CertificateRequest): Promise<KeyPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const { key: caKey, signingAlgorithm } = await importSigningKey(ca.keyPem);
  const keys = await generateKeys();
  const now = Date.now();
  const usages: string[] = [];
  if (request.usage !== 'client') usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (request.usage !== 'server') usages.push(x509.ExtendedKeyUsage.clientAuth);
  const names: x509.JsonGeneralName[] = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(request.commonName, request.organizations),
    issuer: caCert.subject,
    notBefore: new Date(now - clockSkewMs),
    notAfter: new Date(now + (request.validityMs ?? year)),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm,
    extensions,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportPrivateKey(keys.privateKey) };
}

/** A bare key pair (PEM public key and PKCS#8 private key), e.g. for signing service-account tokens. */
export async function createSigningKey(): Promise<{ publicKeyPem: string; privateKeyPem: string }> {
  const keys = await generateKeys();
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  return { publicKeyPem: pem('PUBLIC KEY', spki), privateKeyPem: await exportPrivateKey(keys.privateKey) };
}

/** Validity window of a PEM certificate (the first one, when given a bundle). */
export function certificateValidity(certPem: string): { notBefore: Date; notAfter: Date } {
  const cert = new NodeX509Certificate(certPem);
  return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}

function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

async function importSigningKey(
  keyPem: string,
): Promise<{ key: CryptoKey; signingAlgorithm: typeof algorithm | typeof rsaAlgorithm }> {
  if (keyType(keyPem) === 'rsa') {
    const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
    const key = await webcrypto.subtle.importKey('pkcs8', der, rsaAlgorithm, true, ['sign']);
    return { key, signingAlgorithm: rsaAlgorithm };
  }
  const body = keyPem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  if (body.length === 0) throw new Error('private key: expected a PEM "PRIVATE KEY" (PKCS#8) block');
  const key = await webcrypto.subtle.importKey('pkcs8', Buffer.from(body, 'base64'), algorithm, true, [
    'sign',
  ]);
  return { key, signingAlgorithm: algorithm };
}

function keyType(keyPem: string): string | undefined {
  try {
    return createPrivateKey(keyPem).asymmetricKeyType;
  } catch {
    return undefined; // reported by the PKCS#8 import
  }
}

function pem(label: string, der: ArrayBuffer): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function distinguishedName(commonName: string, organizations: string[] = []): string {
  return [`CN=${escapeRdn(commonName)}`, ...organizations.map((o) => `O=${escapeRdn(o)}`)].join(', ');
}

function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive INTEGER
  return Buffer.from(bytes).toString('hex');
}
