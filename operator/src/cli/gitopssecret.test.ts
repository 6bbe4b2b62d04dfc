import { describe, expect, it } from '@jest/globals';
import { credentialFromKubeconfig } from '../connection/credentials.ts';
import { argoCDClusterSecret, fluxKubeconfigSecret } from './gitopssecret.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('gitops secrets', () => {
  it('Argo CD: a cluster Secret with name, server and a bearer-token config', () => {
    const secret = argoCDClusterSecret(
      { server: 'https://cp.example.com:6443', caPem: 'CA PEM', token: 'the-token' },
      'control-plane',
      'argocd',
    );
    expect(secret).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'control-plane',
        namespace: 'argocd',
        labels: { 'argocd.argoproj.io/secret-type': 'cluster' },
      },
      type: 'Opaque',
      stringData: { name: 'control-plane', server: 'https://cp.example.com:6443' },
    });
    expect(JSON.parse(secret.stringData.config!)).toEqual({
      bearerToken: 'the-token',
      tlsClientConfig: { insecure: false, caData: b64('CA PEM') },
    });
  });

  it('Argo CD: client certificates go into tlsClientConfig, base64 like the kubeconfig data fields', () => {
    const secret = argoCDClusterSecret(
      {
        server: 'https://cp',
        caPem: 'CA',
        clientCertPem: 'CERT',
        clientKeyPem: 'KEY',
        insecureSkipTLSVerify: true,
      },
      'cp',
      'argocd',
    );
    expect(JSON.parse(secret.stringData.config!)).toEqual({
      tlsClientConfig: { insecure: true, caData: b64('CA'), certData: b64('CERT'), keyData: b64('KEY') },
    });
  });

  it('Flux: the kubeconfig under "value", self-contained', () => {
    const credential = { server: 'https://cp.example.com', caPem: 'CA', token: 't' };
    const secret = fluxKubeconfigSecret(credential, 'control-plane', 'flux-system');
    expect(secret.metadata).toEqual({ name: 'control-plane', namespace: 'flux-system' });
    expect(Object.keys(secret.stringData)).toEqual(['value']);
    expect(credentialFromKubeconfig(secret.stringData.value!, 'flux')).toEqual(credential);
  });
});
