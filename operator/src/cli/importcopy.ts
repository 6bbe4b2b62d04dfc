// The objects `ctp-connector import` writes: the control-plane copy of a local claim or XR (named, labelled and
// with its connection Secret reference mapped by the proxy's own translation), the exported connection Secret, and
// the local connection Secret handed to the connector as its delivered copy. Pure.
import { controlPlaneName } from '../claims/identity.ts';
import { appSecret } from '../proxy/connectionsecrets.ts';
import { toControlPlane, type Obj as ProxyObj, type Scope } from '../proxy/translate.ts';
import {
  importedComposedAnnotation,
  importedFromAnnotation,
  importToAnnotation,
  pausedAnnotation,
  type ComposedResource,
  type LocalEntry,
  type Obj,
} from './importplan.ts';

/** Labels Crossplane derives from an object's own (local) names: it sets them again in the control plane. */
const crossplaneDerivedLabels = [
  'crossplane.io/composite',
  'crossplane.io/claim-name',
  'crossplane.io/claim-namespace',
];
const kubernetesOwnedMetadata = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generation',
  'managedFields',
  'finalizers',
  'ownerReferences',
  'selfLink',
  'generateName',
];

/** What the control plane keeps of the local composed resources: enough to find them and their external names. */
export function composedSummary(composed: readonly ComposedResource[]): string {
  return JSON.stringify(
    composed.map((c) => ({
      apiVersion: c.apiVersion,
      kind: c.kind,
      ...(c.namespace ? { namespace: c.namespace } : {}),
      name: c.name,
      ...(c.uid ? { uid: c.uid } : {}),
      ...(c.externalName ? { externalName: c.externalName } : {}),
    })),
  );
}

/**
 * The control-plane copy of a local object: its labels, annotations (crossplane.io/external-name among them) and
 * spec with the composition references as they are, without what names local objects (the claim's XR, the XR's
 * composed resources) and without the pause this import set; then the proxy's translation.
 */
export function controlPlaneCopy(entry: LocalEntry, scope: Scope): Obj {
  const { object, api } = entry;
  const metadata: Record<string, unknown> = { ...object.metadata };
  for (const key of kubernetesOwnedMetadata) delete metadata[key];
  const labels = { ...object.metadata.labels };
  for (const key of crossplaneDerivedLabels) delete labels[key];
  const annotations = { ...object.metadata.annotations };
  delete annotations[pausedAnnotation];
  delete annotations[importToAnnotation];
  annotations[importedFromAnnotation] = object.metadata.uid ?? '';
  if (entry.composed.length) annotations[importedComposedAnnotation] = composedSummary(entry.composed);
  const spec: Record<string, unknown> = { ...object.spec };
  if (api.role === 'claim') delete spec.resourceRef;
  else if (spec.crossplane && typeof spec.crossplane === 'object') {
    const crossplane = { ...(spec.crossplane as Record<string, unknown>) };
    delete crossplane.resourceRefs;
    spec.crossplane = crossplane;
  }
  const local: ProxyObj = {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: { ...metadata, labels, annotations },
    spec,
  };
  const origin = { namespace: object.metadata.namespace ?? '', name: object.metadata.name };
  return toControlPlane(local, scope, origin) as Obj;
}

/**
 * The local connection Secret in the control plane, where Crossplane writes the copy's (the mapped name): the same
 * type and data, so Crossplane adopts it (an uncontrolled Secret of its connection type) and the details are there
 * before the control plane has composed anything.
 */
export function exportedSecret(entry: LocalEntry, scope: Scope, secretName: string): Obj {
  const local = entry.secret!;
  const namespace = entry.object.metadata.namespace ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: controlPlaneName(secretName, namespace, scope.clusterID),
      namespace: scope.targetNamespace,
      annotations: { [importedFromAnnotation]: entry.object.metadata.uid ?? '' },
    },
    type: local.type ?? 'connection.crossplane.io/v1alpha1',
    data: local.data ?? {},
  };
}

/**
 * The labels and annotations that make the local connection Secret the connection's delivered copy (the proxy's
 * appSecret): the proxy then keeps it in sync instead of refusing to write over it, and it never disappears.
 */
export function handedOverMetadata(
  entry: LocalEntry,
  connection: string,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const copy = appSecret(
    {
      namespace: entry.object.metadata.namespace ?? '',
      name: entry.object.metadata.name,
      kind: entry.api.kind,
      apiVersion: entry.object.apiVersion,
      connection,
    },
    entry.secret!.metadata.name,
    entry.secret!,
  );
  return { labels: copy.metadata.labels ?? {}, annotations: copy.metadata.annotations ?? {} };
}
