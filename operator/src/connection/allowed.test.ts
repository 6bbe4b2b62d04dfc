import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseSpec, type ControlPlaneConnectionSpec } from '../api/connection.ts';
import { checkAllowed, imageAllowed } from './allowed.ts';
import { checkCredentialSecret, ConditionError } from './credentials.ts';

const settings = { namespace: 'ctp-system', image: 'ghcr.io/ctp/ctp-connector:1.0' };

function spec(overrides: Record<string, unknown>): ControlPlaneConnectionSpec {
  const parsed = parseSpec({
    controlPlane: { kubeconfigSecretRef: { namespace: 'ctp-system', name: 'cp' } },
    targetNamespace: 'team-1',
    ...overrides,
  });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.spec;
}

function refusal(run: () => void): ConditionError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConditionError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('checkAllowed', () => {
  it('accepts credential Secrets in the operator namespace and the default image', () => {
    expect(() => checkAllowed(spec({}), settings)).not.toThrow();
    expect(() => checkAllowed(spec({ proxy: { image: settings.image } }), settings)).not.toThrow();
  });

  it.each([
    [{ kubeconfigSecretRef: { namespace: 'kube-system', name: 'admin' } }, 'kubeconfigSecretRef'],
    [{ server: 'https://cp', tokenSecretRef: { namespace: 'other', name: 'tok' } }, 'tokenSecretRef'],
  ])(
    'refuses a credential Secret in another namespace, naming field and namespace (%j)',
    (controlPlane, field) => {
      const err = refusal(() => checkAllowed(spec({ controlPlane }), settings));
      expect(err.reason).toBe('CredentialNotAllowed');
      expect(err.stalled).toBe(true);
      expect(err.message).toContain(`spec.controlPlane.${field}`);
      expect(err.message).toContain("operator's namespace ctp-system");
    },
  );

  it('refuses a foreign image, naming it and what is allowed', () => {
    const err = refusal(() => checkAllowed(spec({ proxy: { image: 'registry.invalid/evil:1' } }), settings));
    expect(err.reason).toBe('ImageNotAllowed');
    expect(err.message).toContain('registry.invalid/evil:1');
    expect(err.message).toContain(settings.image);
  });

  it('accepts images the operator allows, exactly or by prefix', () => {
    const allowing = { ...settings, allowedProxyImages: ['mirror.example/ctp:*', 'other.example/p:2'] };
    expect(imageAllowed('mirror.example/ctp:1.1', allowing)).toBe(true);
    expect(imageAllowed('other.example/p:2', allowing)).toBe(true);
    expect(imageAllowed('other.example/p:3', allowing)).toBe(false);
    expect(imageAllowed('mirror.example/ctp-evil:1', allowing)).toBe(false);
  });

  it('property: without allowed images only the operator image passes', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }), (image) => {
        expect(imageAllowed(image, settings)).toBe(image === settings.image);
      }),
    );
  });

  it('property: a prefix pattern allows exactly the images that start with it', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), (prefix, image) => {
        const allowing = { ...settings, allowedProxyImages: [`${prefix}*`] };
        expect(imageAllowed(image, allowing)).toBe(image === settings.image || image.startsWith(prefix));
      }),
    );
  });
});

describe('checkCredentialSecret', () => {
  const secret = (type?: string, labels?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', labels },
    ...(type === undefined ? {} : { type }),
  });

  it.each([undefined, '', 'Opaque', 'cluster.x-k8s.io/secret'])('accepts type %j', (type) => {
    expect(() => checkCredentialSecret('Secret a/s', secret(type))).not.toThrow();
  });

  it.each(['kubernetes.io/service-account-token', 'helm.sh/release.v1', 'kubernetes.io/tls'])(
    'refuses type %s',
    (type) => {
      const err = refusal(() => checkCredentialSecret('Secret a/s', secret(type)));
      expect(err.reason).toBe('CredentialNotAllowed');
      expect(err.message).toContain(type);
    },
  );

  it("refuses another connection's Secret (its scoped token)", () => {
    const err = refusal(() =>
      checkCredentialSecret('Secret a/s', secret('Opaque', { 'connect.ctp.dev/connection': 'prod' })),
    );
    expect(err.message).toContain('belongs to connection prod');
  });
});
