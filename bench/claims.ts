// Claims as the benchmark writes them: the product documentation's KubernetesCluster claim, and its stored form
// in the control plane (what the connector's proxy would store: mapped name, targetNamespace, origin labels).
// Seeding writes the stored forms straight into the control plane, far faster than through two API servers.
import { toControlPlane } from '../operator/src/proxy/translate.ts';
import { callOk, call, type Target } from './http.ts';
import { pool } from './load.ts';
import { claimGroup, kind, plural, targetNamespace, version } from './setup.ts';

export interface Claim {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string } & Record<string, unknown>;
  spec: Record<string, unknown>;
}

/** The sample claim under `name` in `group`. Pure. */
export function claim(group: string, name: string, namespace?: string): Claim {
  return {
    apiVersion: `${group}/${version}`,
    kind,
    // Paused where the control plane runs Crossplane: the benchmark measures the connector's requests, not
    // Crossplane composing (which would also write to the claims between the benchmark's writes).
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      annotations: { 'crossplane.io/paused': 'true' },
    },
    spec: {
      id: name,
      parameters: {
        nodes: { count: 3, size: 'small' },
        services: { operators: { prometheus: { version: '34.5.1' } } },
      },
      writeConnectionSecretToRef: { name: `${name}-kubeconfig` },
    },
  };
}

type Stored = Parameters<typeof toControlPlane>[0];

/** Where and how app claim `namespace/name` of cluster `clusterID` is stored in the control plane. Pure. */
export function storedClaim(
  clusterID: string,
  namespace: string,
  name: string,
): { path: string; body: Claim } {
  const scope = { clusterID, targetNamespace };
  return {
    path: `/apis/${claimGroup}/${version}/namespaces/${targetNamespace}/${plural}`,
    body: toControlPlane(claim(claimGroup, name, namespace) as unknown as Stored, scope, {
      namespace,
      name,
    }) as unknown as Claim,
  };
}

export interface Creation {
  path: string;
  body: Claim;
}

/** Creates every object (an existing one counts as created: seeding again is harmless). */
export async function createAll(target: Target, objects: Creation[], concurrency: number): Promise<void> {
  await pool(objects.length, concurrency, async (i) => {
    const { path, body } = objects[i]!;
    const answer = await call(target, 'POST', path, { body: JSON.stringify(body) });
    if (answer.status !== 201 && answer.status !== 409)
      throw new Error(
        `create ${path} ${body.metadata.name}: ${answer.status}: ${answer.body.toString('utf8')}`,
      );
  });
}

/** Deletes every claim in a control-plane namespace matching a label selector (deletecollection). */
export async function deleteClaims(
  target: Target,
  group: string,
  namespace: string,
  labelSelector?: string,
): Promise<void> {
  const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
  await callOk(target, 'DELETE', `/apis/${group}/${version}/namespaces/${namespace}/${plural}${query}`);
}
