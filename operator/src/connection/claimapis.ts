// The claim APIs of a control plane as read from it: its XRDs (from the registry's informer) and the CRDs Crossplane
// generated for them, fetched by name. What is served, or finalized, is computed from these by discovery.ts.
import { isForbidden, isNotFound, type KubeClient } from '../kube/client.ts';
import type { ControlPlane } from './controlplanes.ts';
import { ConditionError } from './credentials.ts';
import type { CRD, XRD } from './discovery.ts';

export async function readClaimAPIs(
  controlPlane: ControlPlane,
  signal?: AbortSignal,
): Promise<{ xrds: readonly XRD[]; crds: CRD[] }> {
  const xrds = await controlPlane.xrds(undefined, signal);
  return { xrds, crds: await claimCRDs(controlPlane.client, xrds) };
}

/** The CRDs behind the XRDs' served names (claims and namespaced XRs). */
async function claimCRDs(controlPlane: KubeClient, xrds: readonly XRD[]): Promise<CRD[]> {
  const names = new Set<string>();
  for (const xrd of xrds) {
    names.add(`${xrd.spec.names.plural}.${xrd.spec.group}`);
    if (xrd.spec.claimNames) names.add(`${xrd.spec.claimNames.plural}.${xrd.spec.group}`);
  }
  const crds: CRD[] = [];
  for (const crdName of names) {
    try {
      crds.push(
        await controlPlane.request<CRD>(
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`,
        ),
      );
    } catch (err) {
      if (isNotFound(err)) continue;
      if (isForbidden(err))
        throw new ConditionError(
          'Forbidden',
          `the credential may not read CustomResourceDefinition ${crdName}`,
          true,
        );
      throw err;
    }
  }
  return crds;
}
