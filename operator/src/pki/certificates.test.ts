import { X509Certificate, createPrivateKey, createPublicKey, verify, sign, webcrypto } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import * as x509 from '@peculiar/x509';
import {
  certificateValidity,
  createCertificateAuthority,
  createSigningKey,
  issueCertificate,
} from './certificates.ts';

describe('certificates', () => {
  it('issues a server certificate that verifies against its CA and carries the requested names', async () => {
    const ca = await createCertificateAuthority('test-ca');
    const leaf = await issueCertificate(ca, {
      commonName: 'proxy',
      dnsNames: ['proxy.ns.svc', 'localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:proxy.ns.svc, DNS:localhost, IP Address:127.0.0.1');
    expect(cert.checkHost('proxy.ns.svc')).toBe('proxy.ns.svc');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    // The private key belongs to the certificate.
    const signature = sign('sha256', Buffer.from('x'), createPrivateKey(leaf.keyPem));
    expect(verify('sha256', Buffer.from('x'), cert.publicKey, signature)).toBe(true);
  });

  it('puts organizations into the subject for client certificates (Kubernetes groups)', async () => {
    const ca = await createCertificateAuthority('client-ca');
    const leaf = await issueCertificate(ca, {
      commonName: 'admin',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.subject.split('\n')).toEqual(['CN=admin', 'O=system:masters']);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('does not verify against a different CA', async () => {
    const [ca, other] = await Promise.all([createCertificateAuthority('a'), createCertificateAuthority('b')]);
    const leaf = await issueCertificate(ca, { commonName: 'x', usage: 'server' });
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(other.certPem).publicKey)).toBe(
      false,
    );
  });

  it('honours the requested validity', async () => {
    const ca = await createCertificateAuthority('ca');
    const leaf = await issueCertificate(ca, { commonName: 'short', usage: 'server', validityMs: 3600_000 });
    const { notBefore, notAfter } = certificateValidity(leaf.certPem);
    const lifetime = notAfter.getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(3500_000);
    expect(lifetime).toBeLessThanOrEqual(3600_000);
    expect(notBefore.getTime()).toBeLessThan(Date.now());
  });

  it('creates signing key pairs whose halves match', async () => {
    const key = await createSigningKey();
    const signature = sign('sha256', Buffer.from('token'), createPrivateKey(key.privateKeyPem));
    expect(verify('sha256', Buffer.from('token'), createPublicKey(key.publicKeyPem), signature)).toBe(true);
  });

  it('issues from a CA with an RSA key in PKCS#1, as Crossplane generates its root CA', async () => {
    const rsa = {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
    };
    const keys = await webcrypto.subtle.generateKey(rsa, true, ['sign', 'verify']);
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=Crossplane, O=Crossplane',
      keys,
      signingAlgorithm: rsa,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
      .export({ type: 'pkcs1', format: 'pem' })
      .toString();
    expect(keyPem).toContain('-----BEGIN RSA PRIVATE KEY-----');
    const leaf = await issueCertificate(
      { certPem: caCert.toString('pem'), keyPem },
      { commonName: 'function', dnsNames: ['localhost'], usage: 'server' },
    );
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.verify(new X509Certificate(caCert.toString('pem')).publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyType).toBe('ec');
  });
});
