// Finalization by deletion policy (DESIGN §6). APIServices go first, so no request reaches a proxy that is going
// away; then the control plane is handled per policy; then the app-side objects; then the finalizer. If the
// control plane cannot be reached the finalizer stays and the status says why: no claim is ever lost silently.
import * as api from '../api/connection.ts';
import { decodeCatalog } from '../catalog/catalog.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';
import { apply, get, list, remove, type KubeObject } from '../kube/resources.ts';
import type { APIService } from './apiservices.ts';
import { setCondition, type ConditionReason } from './conditions.ts';
import { ConditionError, readCredential } from './credentials.ts';
import { connectionLabel, finalizer } from './names.ts';
import { ownedNames } from '../catalog/names.ts';
import type { ReconcilerDeps, Result } from './reconcile.ts';
import { scopedObjects } from './scoped.ts';
import {
  appNameAnnotation,
  appNameLabel,
  appNamespaceLabel,
  connectorLabels,
  originSelector,
} from '../claims/identity.ts';
import { desiredWorkload } from './workload.ts';

export const migratedAnnotationPrefix = 'connect.ctp.dev/migrated-from-';

type Connection = KubeObject & { spec?: unknown; status?: api.ControlPlaneConnectionStatus };
type Claim = KubeObject;

export async function finalizeConnection(deps: ReconcilerDeps, connection: Connection): Promise<Result> {
  const name = connection.metadata.name;
  if (!connection.metadata.finalizers?.includes(finalizer)) return {};
  const names = ownedNames(name);
  const ns = deps.settings.namespace;
  const log = deps.log.child({ connection: name });

  // 1. APIServices first.
  for (const svc of await list<APIService>(deps.app, 'apiregistration.k8s.io/v1', 'APIService', {
    labelSelector: `${connectionLabel}=${name}`,
  })) {
    await remove(deps.app, svc);
  }

  // 2. The control plane, by policy.
  const parsed = api.parseSpec(connection.spec);
  const clusterID = connection.status?.clusterID;
  // Claims reach the control plane only through the proxy, which needs the token Secret: without one, this
  // connection never served a claim and there is nothing to hand over or delete there.
  const served = await get(deps.app, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: names.token, namespace: ns },
  });
  if (parsed.ok && clusterID && served) {
    try {
      const credential = await readCredential(deps.app, parsed.spec.controlPlane);
      const controlPlane = deps.controlPlanes.get(name, credential);
      const catalog = await get<KubeObject & { binaryData?: Record<string, string> }>(deps.app, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: names.catalog, namespace: ns },
      });
      const groupVersions = catalog ? decodeCatalog(catalog.binaryData).groupVersions : [];
      const remaining = await handleClaims(
        controlPlane.client,
        parsed.spec,
        clusterID,
        groupVersions,
        connection.metadata.name,
      );
      if (remaining > 0) {
        await reportFinalizing(
          deps,
          connection,
          'DeletingClaims',
          `waiting for ${remaining} claims to be deleted in the control plane`,
        );
        return { requeueAfterMs: 2_000 };
      }
      for (const obj of scopedObjects(parsed.spec.targetNamespace, clusterID, []).reverse())
        await remove(controlPlane.client, obj);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const reason = err instanceof ConditionError ? err.reason : 'ControlPlaneUnreachable';
      log.warn({ err: message }, 'finalization blocked');
      await reportFinalizing(
        deps,
        connection,
        reason,
        `cannot finalize (${parsed.spec.deletionPolicy}): ${message}; the finalizer stays until this succeeds`,
      );
      throw err;
    }
    await deps.controlPlanes.forget(name);
  }

  // 3. App-side objects (owner references would collect them too; explicit deletion keeps the order).
  if (parsed.ok) {
    const workload = desiredWorkload({
      connection: name,
      owner: [],
      names,
      spec: parsed.spec,
      settings: deps.settings,
    });
    const order = [
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'RoleBinding',
      'Role',
      'ClusterRoleBinding',
      'ClusterRole',
      'ServiceAccount',
    ];
    workload.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
    for (const obj of workload) await remove(deps.app, obj);
  }
  for (const secret of [names.token, names.serving]) {
    await remove(deps.app, { apiVersion: 'v1', kind: 'Secret', metadata: { name: secret, namespace: ns } });
  }
  await remove(deps.app, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names.catalog, namespace: ns },
  });

  // 4. Release the connection.
  const finalizers = (connection.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  try {
    await deps.app.request('PATCH', `/apis/${api.group}/${api.version}/${api.plural}/${name}`, {
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: connection.metadata.resourceVersion },
        { op: 'replace', path: '/metadata/finalizers', value: finalizers },
      ],
      contentType: 'application/json-patch+json',
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  log.info({ policy: parsed.ok ? parsed.spec.deletionPolicy : 'unknown' }, 'connection finalized');
  return {};
}

/** Applies the deletion policy to this cluster's claims; returns how many are still on their way out. */
async function handleClaims(
  controlPlane: KubeClient,
  spec: api.ControlPlaneConnectionSpec,
  clusterID: string,
  groupVersions: { group: string; version: string; resources: { plural: string; kind: string }[] }[],
  connection: string,
): Promise<number> {
  if (spec.deletionPolicy === 'Detach') return 0;
  let remaining = 0;
  const selector = originSelector(clusterID);
  for (const gv of groupVersions) {
    for (const resource of gv.resources) {
      const path = `/apis/${gv.group}/${gv.version}/namespaces/${spec.targetNamespace}/${resource.plural}`;
      let claims: Claim[];
      try {
        claims = (
          await controlPlane.request<{ items: Claim[] }>('GET', path, { query: { labelSelector: selector } })
        ).items;
      } catch (err) {
        if (isNotFound(err)) continue; // the API is gone from the control plane
        throw err;
      }
      for (const claim of claims) {
        const claimPath = `${path}/${encodeURIComponent(claim.metadata.name)}`;
        if (spec.deletionPolicy === 'Delete') {
          remaining++;
          if (!claim.metadata.deletionTimestamp) {
            await controlPlane
              .request('DELETE', claimPath, { body: { propagationPolicy: 'Background' } })
              .catch((err: unknown) => {
                if (!isNotFound(err)) throw err;
              });
          }
          continue;
        }
        // Migrate: hand the claim over — connector labels become migrated-from annotations.
        const labels = claim.metadata.labels ?? {};
        const annotations: Record<string, string | null> = {
          [`${migratedAnnotationPrefix}cluster`]: clusterID,
          [`${migratedAnnotationPrefix}namespace`]: labels[appNamespaceLabel] ?? null,
          [`${migratedAnnotationPrefix}name`]:
            claim.metadata.annotations?.[appNameAnnotation] ?? labels[appNameLabel] ?? null,
          [`${migratedAnnotationPrefix}connection`]: connection,
        };
        await controlPlane.request('PATCH', claimPath, {
          body: {
            metadata: { labels: Object.fromEntries(connectorLabels.map((l) => [l, null])), annotations },
          },
          contentType: 'application/merge-patch+json',
        });
      }
    }
  }
  return remaining;
}

async function reportFinalizing(
  deps: ReconcilerDeps,
  connection: Connection,
  reason: ConditionReason,
  message: string,
): Promise<void> {
  const generation = connection.metadata.generation ?? 0;
  const now = (deps.now ?? (() => new Date()))();
  const conditions = setCondition(
    connection.status?.conditions ?? [],
    { type: 'Ready', status: 'False', reason, message },
    generation,
    now,
  );
  await apply(
    deps.app,
    {
      apiVersion: api.apiVersion,
      kind: api.kind,
      metadata: { name: connection.metadata.name },
      status: { ...connection.status, conditions },
    },
    'status',
  );
}
