// Finalization by deletion policy (DESIGN §6). It depends only on what cannot disappear while it runs: the connection
// itself (its spec, and status.clusterID, recorded before anything could store a claim), the credential Secret the
// spec names (the user's, owned by nobody) and the control plane (its XRDs, and the labels on the claims). Never on
// the token Secret or the catalog: the connection owns them, and under foreground deletion (`kubectl delete
// --cascade=foreground`, Argo CD's prune) the garbage collector deletes them while the finalizer runs.
//
// Each step is safe to repeat, so a finalizer cut off anywhere (a crash, a lost lease) is simply run again:
// 1. the APIServices, so no request reaches a proxy that is going away;
// 2. the control plane: this cluster's claims, listed by label wherever it may have stored them, each handled as
//    claimpolicy.ts says; then the scoped identity;
// 3. the app-side objects;
// 4. the finalizer.
// If the control plane cannot be reached the finalizer stays and the status says why: no claim is lost silently.
import * as api from '../api/connection.ts';
import { ownedNames } from '../catalog/names.ts';
import { originSelector } from '../claims/identity.ts';
import { isNotFound } from '../kube/client.ts';
import { apply, list, remove, type KubeObject } from '../kube/resources.ts';
import type { APIService } from './apiservices.ts';
import { checkCredentialRefs } from './allowed.ts';
import { readClaimAPIs } from './claimapis.ts';
import { claimStep } from './claimpolicy.ts';
import { setCondition, type ConditionReason } from './conditions.ts';
import type { ControlPlane } from './controlplanes.ts';
import { ConditionError, readCredential } from './credentials.ts';
import type { ReconcilerDeps, Result } from './deps.ts';
import { claimCollections } from './discovery.ts';
import { connectionLabel, finalizer } from './names.ts';
import { scopedObjects } from './scoped.ts';
import { grantsOf, releaseCopies, revokeGrant } from './secretgrants.ts';
import { desiredWorkload } from './workload.ts';

type Connection = KubeObject & { spec?: unknown; status?: api.ControlPlaneConnectionStatus };
type Claim = KubeObject;

/** Claims per list request: a cluster may hold many thousands. */
const pageSize = 500;

export async function finalizeConnection(
  deps: ReconcilerDeps,
  connection: Connection,
  signal?: AbortSignal,
): Promise<Result> {
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

  // 2. The control plane, by policy. Without a recorded cluster identity the reconciler never got as far as anything
  // that can store a claim: there is nothing to hand over or delete. Copies of connection Secrets that stay are
  // marked first: the proxy sees the claims leave and would remove them.
  const parsed = api.parseSpec(connection.spec);
  const clusterID = connection.status?.clusterID;
  const removeCopies =
    parsed.ok &&
    (parsed.spec.deletionPolicy === 'Delete' || parsed.spec.connectionSecretsOnDeletion === 'Delete');
  if (!removeCopies) await releaseCopies(deps.app, name, (deps.now ?? (() => new Date()))());
  if (parsed.ok && clusterID) {
    try {
      checkCredentialRefs(parsed.spec, ns);
      const credential = await readCredential(deps.app, parsed.spec.controlPlane);
      const controlPlane = deps.controlPlanes.get(name, credential);
      const remaining =
        parsed.spec.deletionPolicy === 'Detach'
          ? 0
          : await handleClaims(controlPlane, parsed.spec, clusterID, connection, signal);
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
      if (signal?.aborted) throw err; // leadership lost or stopping: the next run goes on from the start
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

  // 3. App-side objects (owner references would collect them too, but not under orphan propagation; explicit
  // deletion keeps the order). First the bindings in the app namespaces, with the connection Secret copies there
  // unless they are to stay (their claims live on under Migrate and Detach, and so do the workloads that use them).
  for (const binding of await grantsOf(deps.app, name))
    await revokeGrant(deps.app, name, binding, removeCopies);
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
      'ConfigMap',
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

  // 4. Release the connection — as read: a spec changed meanwhile (another deletionPolicy) fails the test and the
  // next run finalizes by the new one.
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

/**
 * Applies the deletion policy to this cluster's claims in every collection it may have stored them in; returns how
 * many are still on their way out.
 */
async function handleClaims(
  controlPlane: ControlPlane,
  spec: api.ControlPlaneConnectionSpec,
  clusterID: string,
  connection: Connection,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { xrds, crds } = await readClaimAPIs(controlPlane, signal);
  const collections = claimCollections(xrds, crds, spec.apis, connection.status?.apis ?? []);
  const origin = { clusterID, connection: connection.metadata.name };
  let remaining = 0;
  for (const collection of collections) {
    const path = `/apis/${collection.group}/${collection.version}/namespaces/${spec.targetNamespace}/${collection.plural}`;
    for await (const claim of listClaims(controlPlane, path, originSelector(clusterID))) {
      const step = claimStep(spec.deletionPolicy, claim, origin);
      const claimPath = `${path}/${encodeURIComponent(claim.metadata.name)}`;
      if (step.action === 'keep') continue;
      if (step.action === 'migrate') {
        await controlPlane.client
          .request('PATCH', claimPath, { body: step.patch, contentType: 'application/merge-patch+json' })
          .catch(ignoreNotFound);
        continue;
      }
      remaining++;
      if (step.action === 'delete') {
        await controlPlane.client
          .request('DELETE', claimPath, { body: { propagationPolicy: 'Background' } })
          .catch(ignoreNotFound);
      }
    }
  }
  return remaining;
}

/** Every claim in the collection at `path` that matches `selector`, page by page; none when the API is gone. */
async function* listClaims(
  controlPlane: ControlPlane,
  path: string,
  selector: string,
): AsyncGenerator<Claim> {
  let next: string | undefined;
  do {
    let page: { items: Claim[]; metadata?: { continue?: string } };
    try {
      page = await controlPlane.client.request('GET', path, {
        query: { labelSelector: selector, limit: pageSize, continue: next },
      });
    } catch (err) {
      if (isNotFound(err)) return; // the API is gone from the control plane, and its claims with it
      throw err;
    }
    yield* page.items;
    next = page.metadata?.continue || undefined;
  } while (next);
}

function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
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
