import { describe, expect, it } from '@jest/globals';
import { parseSpec } from './connection.ts';

const kubeconfigRef = { kubeconfigSecretRef: { namespace: 'ctp-system', name: 'cp' } };

describe('parseSpec', () => {
  it('applies the documented defaults', () => {
    const result = parseSpec({ controlPlane: kubeconfigRef, targetNamespace: 'team-1' });
    expect(result).toEqual({
      ok: true,
      spec: {
        controlPlane: { kubeconfigSecretRef: { namespace: 'ctp-system', name: 'cp', key: 'value' } },
        targetNamespace: 'team-1',
        credentials: { mode: 'Scoped', tokenTTLSeconds: 3600 },
        apis: { discovery: 'Crossplane' },
        proxy: { replicas: 2 },
        deletionPolicy: 'Migrate',
        connectionSecretsOnDeletion: 'Keep',
      },
    });
  });

  it('accepts server + token + CA', () => {
    const result = parseSpec({
      controlPlane: {
        server: 'https://cp.example.com:6443',
        caBundle: 'x',
        tokenSecretRef: { namespace: 'a', name: 'b' },
      },
      targetNamespace: 'team-1',
    });
    expect(result.ok).toBe(true);
  });

  it.each([
    [
      { controlPlane: {}, targetNamespace: 't' },
      'spec.controlPlane: set exactly one of kubeconfigSecretRef or server',
    ],
    [
      { controlPlane: { ...kubeconfigRef, server: 'https://x' }, targetNamespace: 't' },
      'spec.controlPlane: set exactly one of kubeconfigSecretRef or server',
    ],
    [
      { controlPlane: { server: 'https://x' }, targetNamespace: 't' },
      'spec.controlPlane: server and tokenSecretRef go together',
    ],
    [
      { controlPlane: kubeconfigRef, targetNamespace: 'Team_1' },
      'spec.targetNamespace: must be a DNS-1123 label',
    ],
    [{ controlPlane: kubeconfigRef }, 'spec.targetNamespace: Invalid input'],
    [
      { controlPlane: kubeconfigRef, targetNamespace: 't', deletionPolicy: 'Orphan' },
      'spec.deletionPolicy: Invalid option',
    ],
    [
      { controlPlane: kubeconfigRef, targetNamespace: 't', proxy: { replicas: 0 } },
      'spec.proxy.replicas: Too small',
    ],
    [
      {
        controlPlane: { server: 'http://plain', tokenSecretRef: { namespace: 'a', name: 'b' } },
        targetNamespace: 't',
      },
      'spec.controlPlane.server: must be an https:// URL',
    ],
  ])('rejects %j with a message naming the field', (spec, expected) => {
    const result = parseSpec(spec);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(expected);
  });
});
