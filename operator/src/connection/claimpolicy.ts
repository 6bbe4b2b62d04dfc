// What a connection's deletionPolicy does to one of its claims in the control plane (DESIGN §6). Pure: the finalizer
// lists the claims and carries out the step each one needs. Every step is safe to repeat — a handed-over claim no
// longer carries the cluster label the finalizer lists by, a deleting claim is only waited for — so a finalizer that
// was interrupted anywhere just runs again.
import type { ControlPlaneConnectionSpec } from '../api/connection.ts';
import { appNameAnnotation, appNameLabel, appNamespaceLabel, connectorLabels } from '../claims/identity.ts';
import type { KubeObject } from '../kube/resources.ts';

export const migratedAnnotationPrefix = 'connect.ctp.dev/migrated-from-';

export type ClaimStep =
  | { action: 'keep' }
  | { action: 'delete' }
  /** Deleting already (finalizers of its own, e.g. Crossplane's): wait until it is gone. */
  | { action: 'wait' }
  | { action: 'migrate'; patch: { metadata: MetadataPatch } };

interface MetadataPatch {
  labels: Record<string, null>;
  annotations: Record<string, string | null>;
}

export function claimStep(
  policy: ControlPlaneConnectionSpec['deletionPolicy'],
  claim: Pick<KubeObject, 'metadata'>,
  origin: { clusterID: string; connection: string },
): ClaimStep {
  if (policy === 'Detach') return { action: 'keep' };
  if (policy === 'Delete')
    return claim.metadata.deletionTimestamp ? { action: 'wait' } : { action: 'delete' };
  return { action: 'migrate', patch: { metadata: migration(claim, origin) } };
}

/** Hand-over: the connector's labels go, annotations say where the claim came from (a JSON merge patch). */
function migration(
  claim: Pick<KubeObject, 'metadata'>,
  origin: { clusterID: string; connection: string },
): MetadataPatch {
  const labels = claim.metadata.labels ?? {};
  return {
    labels: Object.fromEntries(connectorLabels.map((l) => [l, null])),
    annotations: {
      [`${migratedAnnotationPrefix}cluster`]: origin.clusterID,
      [`${migratedAnnotationPrefix}namespace`]: labels[appNamespaceLabel] ?? null,
      [`${migratedAnnotationPrefix}name`]:
        claim.metadata.annotations?.[appNameAnnotation] ?? labels[appNameLabel] ?? null,
      [`${migratedAnnotationPrefix}connection`]: origin.connection,
    },
  };
}
