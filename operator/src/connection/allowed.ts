// What a connection may ask of this operator, checked before anything is read or started. Creating a
// ControlPlaneConnection must not be a way to read Secrets elsewhere in the cluster or to run an image under the
// proxy's ServiceAccount: credential Secrets live in the operator's namespace, and the proxy runs the operator's own
// image unless the operator was started with others allowed. Pure.
import type { ControlPlaneConnectionSpec } from '../api/connection.ts';
import { ConditionError } from './credentials.ts';
import type { OperatorSettings } from './workload.ts';

export function checkAllowed(spec: ControlPlaneConnectionSpec, settings: OperatorSettings): void {
  checkCredentialRefs(spec, settings.namespace);
  checkProxyImage(spec, settings);
}

/** Credential Secrets only in the operator's namespace: the operator may read no other. */
export function checkCredentialRefs(spec: ControlPlaneConnectionSpec, namespace: string): void {
  const refs = [
    ['spec.controlPlane.kubeconfigSecretRef', spec.controlPlane.kubeconfigSecretRef],
    ['spec.controlPlane.tokenSecretRef', spec.controlPlane.tokenSecretRef],
  ] as const;
  for (const [field, ref] of refs) {
    if (ref && ref.namespace !== namespace) {
      throw new ConditionError(
        'CredentialNotAllowed',
        `${field} names Secret ${ref.namespace}/${ref.name}: credential Secrets must be in the operator's namespace ${namespace}`,
        true,
      );
    }
  }
}

export function checkProxyImage(spec: ControlPlaneConnectionSpec, settings: OperatorSettings): void {
  const image = spec.proxy.image;
  if (image !== undefined && !imageAllowed(image, settings)) {
    const allowed = [settings.image, ...(settings.allowedProxyImages ?? [])].join(', ');
    throw new ConditionError(
      'ImageNotAllowed',
      `spec.proxy.image ${image} is not allowed by the operator (allowed: ${allowed}; see --proxy-allowed-images)`,
      true,
    );
  }
}

/** The operator's own proxy image, or one its --proxy-allowed-images names (exactly, or by a prefix ending in "*"). */
export function imageAllowed(
  image: string,
  settings: Pick<OperatorSettings, 'image' | 'allowedProxyImages'>,
): boolean {
  if (image === settings.image) return true;
  return (settings.allowedProxyImages ?? []).some((pattern) =>
    pattern.endsWith('*') ? image.startsWith(pattern.slice(0, -1)) : image === pattern,
  );
}
