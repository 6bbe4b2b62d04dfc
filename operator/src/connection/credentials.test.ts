import { describe, expect, it } from '@jest/globals';
import { KubeApiError } from '../kube/client.ts';
import {
  classifyControlPlaneError,
  credentialFromKubeconfig,
  decodeCABundle,
  kubeconfigFor,
} from './credentials.ts';

const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const kubeconfig = (user: Record<string, unknown>, server = 'https://cp.example.com:6443') =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cp', cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'cp', context: { cluster: 'cp', user: 'u' } }],
    'current-context': 'cp',
  });

describe('credentialFromKubeconfig', () => {
  it('extracts server, CA and token, and round-trips through kubeconfigFor', () => {
    const credential = credentialFromKubeconfig(kubeconfig({ token: 'secret-token' }), 'test');
    expect(credential).toEqual({ server: 'https://cp.example.com:6443', caPem: ca, token: 'secret-token' });
    expect(credentialFromKubeconfig(kubeconfigFor(credential), 'again')).toEqual(credential);
  });

  it('accepts client certificates', () => {
    const credential = credentialFromKubeconfig(
      kubeconfig({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }),
      'test',
    );
    expect(credential).toMatchObject({ clientCertPem: 'CERT', clientKeyPem: 'KEY' });
  });

  it.each([
    ['not: [valid', 'InvalidKubeconfig', 'src: not a kubeconfig'],
    [kubeconfig({ token: 't' }, 'http://cp:8080'), 'InvalidKubeconfig', 'is not an https:// URL'],
    [kubeconfig({}), 'InvalidKubeconfig', 'neither a token nor a client certificate'],
    [
      kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' } }),
      'UnsupportedCredential',
      'exec plugin',
    ],
    [kubeconfig({ 'client-certificate': '/etc/cert' }), 'InvalidKubeconfig', 'refers to files'],
  ])('rejects a bad kubeconfig precisely (%#)', (text, reason, message) => {
    let error: unknown;
    try {
      credentialFromKubeconfig(text, 'src');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ reason, stalled: true });
    expect((error as Error).message).toContain(message);
  });
});

describe('decodeCABundle', () => {
  it('takes PEM or base64 of PEM', () => {
    expect(decodeCABundle(ca)).toBe(ca);
    expect(decodeCABundle(b64(ca))).toBe(ca);
    expect(() => decodeCABundle('bm9wZQ==')).toThrow('neither PEM nor base64 of PEM');
  });
});

describe('classifyControlPlaneError', () => {
  it('tells unreachable (retry) from rejected credentials and bad certificates (stall)', () => {
    const refused = new Error('GET /version: ECONNREFUSED', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyControlPlaneError(refused, 'https://cp')).toMatchObject({
      reason: 'ControlPlaneUnreachable',
      stalled: false,
    });
    const badCert = new Error('GET /version', {
      cause: Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
    });
    expect(classifyControlPlaneError(badCert, 'https://cp')).toMatchObject({
      reason: 'ControlPlaneCertificateInvalid',
      stalled: true,
    });
    const unauthorized = new KubeApiError('GET', '/version', 401, undefined, '');
    expect(classifyControlPlaneError(unauthorized, 'https://cp')).toMatchObject({
      reason: 'Unauthorized',
      stalled: true,
    });
  });
});
