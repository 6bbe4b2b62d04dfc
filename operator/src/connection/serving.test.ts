import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { leafLifetimeMs, leafRenewBeforeMs, servingMaterial } from './serving.ts';

const asData = (m: Awaited<ReturnType<typeof servingMaterial>>) => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    'ca.crt': b64(m.ca.certPem),
    'ca.key': b64(m.ca.keyPem),
    'tls.crt': b64(m.leaf.certPem),
    'tls.key': b64(m.leaf.keyPem),
  };
};

describe('servingMaterial', () => {
  const name = 'ctpc-a-proxy.ctp-system.svc';

  it('creates a CA and a leaf for the service name signed by it', async () => {
    const m = await servingMaterial(undefined, name, new Date());
    expect(m.rotated).toBe(true);
    const leaf = new X509Certificate(m.leaf.certPem);
    expect(leaf.checkHost(name)).toBe(name);
    expect(leaf.verify(new X509Certificate(m.ca.certPem).publicKey)).toBe(true);
  });

  it('keeps valid material, and re-issues the leaf with the same CA when renewal is due or the name changes', async () => {
    const now = new Date();
    const first = await servingMaterial(undefined, name, now);
    const kept = await servingMaterial(asData(first), name, now);
    expect(kept.rotated).toBe(false);
    expect(kept.leaf.certPem).toBe(first.leaf.certPem);

    const later = new Date(now.getTime() + leafLifetimeMs - leafRenewBeforeMs + 1000);
    const renewed = await servingMaterial(asData(first), name, later);
    expect(renewed.rotated).toBe(true);
    expect(renewed.ca.certPem).toBe(first.ca.certPem);
    expect(renewed.leaf.certPem).not.toBe(first.leaf.certPem);

    const renamed = await servingMaterial(asData(first), 'other.ctp-system.svc', now);
    expect(renamed.rotated).toBe(true);
    expect(renamed.ca.certPem).toBe(first.ca.certPem);
  });
});
