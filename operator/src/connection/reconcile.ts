// Reconciles one ControlPlaneConnection: read → compute desired objects (pure modules) → server-side apply →
// report conditions. Each step is a condition with a precise reason; errors a human must fix stall the connection,
// others are retried with backoff by the work queue.
import type { Logger } from 'pino';
import * as api from '../api/connection.ts';
import { encodeCatalog, catalogKey } from '../catalog/catalog.ts';
import type { KubeClient } from '../kube/client.ts';
import { isForbidden } from '../kube/client.ts';
import { apply, get, list, remove, type KubeObject, type OwnerReference } from '../kube/resources.ts';
import { apiServiceName, available, conflicts, desiredAPIServices, type APIService } from './apiservices.ts';
import { getCondition, setCondition, type ConditionUpdate } from './conditions.ts';
import { checkAllowed } from './allowed.ts';
import { readClaimAPIs } from './claimapis.ts';
import {
  checkReachable,
  ConditionError,
  kubeconfigFor,
  readCredential,
  type Credential,
} from './credentials.ts';
import type { ReconcilerDeps, Result } from './deps.ts';
import { servedAPIs } from './discovery.ts';
import { type ServedGroupVersion } from '../catalog/catalog.ts';
import { finalizeConnection } from './finalize.ts';
import { connectionLabel, finalizer, managedByLabels } from './names.ts';
import {
  ownedNames,
  reportValidMs,
  tokenExpiresAnnotation,
  tokenIssuedAnnotation,
} from '../catalog/names.ts';
import {
  grantedNamespaces,
  reconcileSecretGrants,
  rejectedTokens,
  systemNamespaces,
} from './secretgrants.ts';
import { otherClustersIn, requestToken, rotationDue, scopedObjects } from './scoped.ts';
import { servingMaterial } from './serving.ts';
import { desiredWorkload, proxyEndpoint } from './workload.ts';

export type { ReconcilerDeps, Result } from './deps.ts';

type Connection = KubeObject & { spec?: unknown; status?: api.ControlPlaneConnectionStatus };

const expiresAnnotation = tokenExpiresAnnotation;
const issuedAnnotation = tokenIssuedAnnotation;
const serverAnnotation = 'connect.ctp.dev/control-plane';
/** Stalled connections are looked at again now and then: a fixed Secret does not trigger a reconcile. */
const stalledRecheckMs = 60_000;

/**
 * The reconcile of one connection. `signal` is the controller's: it aborts when leadership is lost or the operator
 * stops (deps.app and the control-plane clients carry it on every request too).
 */
export function connectionReconciler(
  deps: ReconcilerDeps,
): (name: string, signal?: AbortSignal) => Promise<Result> {
  const now = deps.now ?? (() => new Date());
  return async (name, signal) => {
    const connection = await get<Connection>(deps.app, {
      apiVersion: api.apiVersion,
      kind: api.kind,
      metadata: { name },
    });
    if (!connection) {
      await deps.controlPlanes.forget(name);
      return {};
    }
    if (connection.metadata.deletionTimestamp) return finalizeConnection(deps, connection, signal);
    if (!connection.metadata.finalizers?.includes(finalizer)) {
      await apply(deps.app, {
        apiVersion: api.apiVersion,
        kind: api.kind,
        metadata: { name, finalizers: [finalizer] },
      });
    }

    const generation = connection.metadata.generation ?? 0;
    const status: api.ControlPlaneConnectionStatus = { ...connection.status, observedGeneration: generation };
    let conditions = connection.status?.conditions ?? [];
    const set = (update: ConditionUpdate) =>
      (conditions = setCondition(conditions, update, generation, now()));
    const previousReady = getCondition(conditions, 'Ready');
    const log = deps.log.child({ connection: name });

    let result: Result = {};
    let failure: unknown;
    try {
      result = await converge(deps, connection, status, set, log, now, signal);
      set({ type: 'Stalled', status: 'False', reason: 'NoError' });
      set({ type: 'Reconciling', status: 'False', reason: 'ReconcileSucceeded' });
    } catch (err) {
      // Cancelled (leadership lost, or stopping): nothing more to write; the next run reports.
      if (signal?.aborted) throw err;
      failure = err;
      const condition =
        err instanceof ConditionError ? err : new ConditionError('ReconcileError', String(err), false);
      set({ type: 'Ready', status: 'False', reason: condition.reason, message: condition.message });
      set({
        type: 'Stalled',
        status: condition.stalled ? 'True' : 'False',
        reason: condition.stalled ? condition.reason : 'NoError',
        message: condition.stalled ? condition.message : '',
      });
      set({
        type: 'Reconciling',
        status: condition.stalled ? 'False' : 'True',
        reason: condition.stalled ? 'Stalled' : 'Retrying',
        message: condition.stalled ? '' : condition.message,
      });
      if (condition.stalled) result = { requeueAfterMs: stalledRecheckMs };
    }

    status.conditions = conditions;
    await apply(
      deps.app,
      { apiVersion: api.apiVersion, kind: api.kind, metadata: { name }, status },
      'status',
    );
    const ready = getCondition(conditions, 'Ready');
    if (ready && (ready.status !== previousReady?.status || ready.reason !== previousReady?.reason)) {
      deps.events.event(
        { apiVersion: api.apiVersion, kind: api.kind, name, uid: connection.metadata.uid },
        ready.status === 'True' ? 'Normal' : 'Warning',
        ready.reason,
        ready.message ?? '',
      );
    }
    if (failure !== undefined && !(failure instanceof ConditionError && failure.stalled)) {
      throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
    }
    return result;
  };
}

async function converge(
  deps: ReconcilerDeps,
  connection: Connection,
  status: api.ControlPlaneConnectionStatus,
  set: (update: ConditionUpdate) => void,
  log: Logger,
  now: () => Date,
  signal: AbortSignal | undefined,
): Promise<Result> {
  const name = connection.metadata.name;
  const parsed = api.parseSpec(connection.spec);
  if (!parsed.ok) throw new ConditionError('InvalidSpec', parsed.message, true);
  const spec = parsed.spec;
  try {
    checkAllowed(spec, deps.settings);
  } catch (err) {
    if (err instanceof ConditionError && err.reason === 'CredentialNotAllowed')
      set({ type: 'CredentialsValid', status: 'False', reason: err.reason, message: err.message });
    throw err;
  }
  const names = ownedNames(name);
  const owner: OwnerReference[] = [
    {
      apiVersion: api.apiVersion,
      kind: api.kind,
      name,
      uid: connection.metadata.uid ?? '',
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
  const { settings } = deps;
  const labels = { ...managedByLabels, [connectionLabel]: name };
  const requeue: number[] = [];

  // Credentials and reachability.
  let credential: Credential;
  try {
    credential = await readCredential(deps.app, spec.controlPlane);
  } catch (err) {
    if (err instanceof ConditionError)
      set({ type: 'CredentialsValid', status: 'False', reason: err.reason, message: err.message });
    throw err;
  }
  const controlPlane = deps.controlPlanes.get(name, credential);
  try {
    const version = await checkReachable(controlPlane.client);
    status.controlPlane = { server: credential.server, version };
    set({
      type: 'ControlPlaneReachable',
      status: 'True',
      reason: 'Reachable',
      message: `${credential.server} (${version})`,
    });
  } catch (err) {
    const e = err as ConditionError;
    set({ type: 'ControlPlaneReachable', status: 'False', reason: e.reason, message: e.message });
    if (e.reason === 'Unauthorized')
      set({ type: 'CredentialsValid', status: 'False', reason: e.reason, message: e.message });
    throw err;
  }

  // Cluster identity: changing it would orphan every claim stored under the old one.
  const clusterID = spec.clusterID ?? (await appClusterUID(deps.app));
  if (status.clusterID && status.clusterID !== clusterID) {
    throw new ConditionError(
      'ClusterIDChanged',
      `clusterID would change from ${status.clusterID} to ${clusterID}; every claim is stored under the old one. Restore it or create a new connection.`,
      true,
    );
  }

  // The namespace that holds this cluster's claims.
  await ensureNamespace(controlPlane.client, spec.targetNamespace);

  // Claim APIs.
  const { xrds, crds } = await readClaimAPIs(controlPlane, signal);
  const groupVersions = servedAPIs(xrds, crds, spec.apis);
  set({
    type: 'APIsDiscovered',
    status: 'True',
    reason: 'Discovered',
    message: groupVersions.length
      ? groupVersions.map((gv) => `${gv.group}/${gv.version}`).join(', ')
      : 'no claim APIs in the control plane',
  });

  if (connection.status?.clusterID !== clusterID) {
    // Recorded before anything exists that could store a claim (token Secret, proxy, APIServices) — and only once
    // the control plane let this credential use the namespace and its APIs: the finalizer learns from it, and from
    // nothing that can disappear, whether this connection may have claims out there. A connection that stalled
    // before (a credential without rights) finalizes without asking the control plane.
    await apply(
      deps.app,
      {
        apiVersion: api.apiVersion,
        kind: api.kind,
        metadata: { name },
        status: { ...connection.status, clusterID },
      },
      'status',
    );
  }
  status.clusterID = clusterID;

  // Credential for the proxy.
  const tokenSecret = await get<KubeObject & { data?: Record<string, string> }>(deps.app, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: names.token, namespace: settings.namespace },
  });
  const reports = await get<KubeObject & { data?: Record<string, string> }>(deps.app, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names.secretNamespaces, namespace: settings.namespace },
  });
  const rejections = rejectedTokens(reports?.data, now());
  let proxyCredential: Credential = credential;
  const annotations: Record<string, string> = { [serverAnnotation]: credential.server };
  if (spec.credentials.mode === 'Scoped') {
    try {
      for (const obj of scopedObjects(spec.targetNamespace, clusterID, [
        ...new Set(groupVersions.map((gv) => gv.group)),
      ])) {
        await apply(controlPlane.client, obj);
      }
    } catch (err) {
      if (isForbidden(err)) {
        throw new ConditionError(
          'Forbidden',
          `cannot create the scoped identity in ${spec.targetNamespace}: ${(err as Error).message}`,
          true,
        );
      }
      throw err;
    }
    const others = await otherClustersIn(controlPlane.client, spec.targetNamespace, clusterID);
    set(
      others === undefined
        ? {
            type: 'NamespaceShared',
            status: 'Unknown',
            reason: 'SharingUnknown',
            message: `the credential may not list ServiceAccounts in ${spec.targetNamespace}`,
          }
        : others.length > 0
          ? {
              type: 'NamespaceShared',
              status: 'True',
              reason: 'SharedWithOtherClusters',
              message: `${others.length} other app cluster(s) keep their claims in ${spec.targetNamespace}: each can read the others' claims, connection Secrets and events there (writes are fenced); give each cluster its own targetNamespace`,
            }
          : {
              type: 'NamespaceShared',
              status: 'False',
              reason: 'NotShared',
              message: `no other app cluster keeps its claims in ${spec.targetNamespace}`,
            },
    );
    const held = tokenSecret?.metadata.annotations ?? {};
    const issuedAt = held[issuedAnnotation] ? new Date(held[issuedAnnotation]) : undefined;
    const expiresAt = held[expiresAnnotation] ? new Date(held[expiresAnnotation]) : undefined;
    const lifetime = issuedAt && expiresAt ? (expiresAt.getTime() - issuedAt.getTime()) / 1000 : 0;
    // A replica of the proxy saw the control plane reject this very token (revoked): mint a new one now.
    const rejected = held[issuedAnnotation] !== undefined && rejections.has(held[issuedAnnotation]);
    if (rejected) log.info('the proxy reported the scoped token rejected; issuing a new one');
    const reusable =
      !rejected &&
      tokenSecret?.data?.token &&
      issuedAt &&
      expiresAt &&
      held[serverAnnotation] === credential.server &&
      Math.abs(lifetime - spec.credentials.tokenTTLSeconds) < 120 &&
      rotationDue(issuedAt, expiresAt) > now();
    let token: string;
    let issued: Date;
    let expires: Date;
    if (reusable) {
      token = Buffer.from(tokenSecret.data!.token!, 'base64').toString('utf8');
      issued = issuedAt;
      expires = expiresAt;
    } else {
      const minted = await requestToken(
        controlPlane.client,
        spec.targetNamespace,
        clusterID,
        spec.credentials.tokenTTLSeconds,
      );
      token = minted.token;
      issued = now();
      expires = minted.expiresAt;
      log.info({ expiresAt: expires.toISOString() }, 'issued a scoped control-plane token');
    }
    proxyCredential = {
      server: credential.server,
      caPem: credential.caPem,
      insecureSkipTLSVerify: credential.insecureSkipTLSVerify,
      token,
    };
    annotations[issuedAnnotation] = issued.toISOString();
    annotations[expiresAnnotation] = expires.toISOString();
    status.credentials = { mode: 'Scoped', expiresAt: expires.toISOString().replace(/\.\d{3}Z$/, 'Z') };
    requeue.push(rotationDue(issued, expires).getTime() - now().getTime());
  } else {
    status.credentials = { mode: 'Passthrough' };
  }
  const proxyKubeconfig = kubeconfigFor(proxyCredential);
  await apply(deps.app, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: names.token,
      namespace: settings.namespace,
      labels,
      annotations,
      ownerReferences: owner,
    },
    type: 'Opaque',
    data: {
      kubeconfig: b64(proxyKubeconfig),
      ...(proxyCredential.token ? { token: b64(proxyCredential.token) } : {}),
      targetNamespace: b64(spec.targetNamespace),
      clusterID: b64(clusterID),
    },
  });
  set({
    type: 'CredentialsValid',
    status: 'True',
    reason: 'Valid',
    message: `${spec.credentials.mode} credentials in Secret ${settings.namespace}/${names.token}`,
  });

  // Serving certificate.
  const endpoint = proxyEndpoint({ names, settings });
  const servingSecret = await get<KubeObject & { data?: Record<string, string> }>(deps.app, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: names.serving, namespace: settings.namespace },
  });
  const serving = await servingMaterial(
    servingSecret?.data,
    `${endpoint.service}.${endpoint.namespace}.svc`,
    now(),
  );
  if (serving.rotated || !servingSecret) {
    await apply(deps.app, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: names.serving, namespace: settings.namespace, labels, ownerReferences: owner },
      type: 'kubernetes.io/tls',
      data: {
        'ca.crt': b64(serving.ca.certPem),
        'ca.key': b64(serving.ca.keyPem),
        'tls.crt': b64(serving.leaf.certPem),
        'tls.key': b64(serving.leaf.keyPem),
      },
    });
  }
  requeue.push(serving.renewAt.getTime() - now().getTime());

  // Catalog, then the proxy that serves it.
  await apply(deps.app, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names.catalog, namespace: settings.namespace, labels, ownerReferences: owner },
    binaryData: {
      [catalogKey]: encodeCatalog({
        connection: name,
        clusterID,
        targetNamespace: spec.targetNamespace,
        groupVersions,
      }),
    },
  });
  for (const obj of desiredWorkload({ connection: name, owner, names, spec, settings }))
    await apply(deps.app, obj);
  // Connection Secret copies: the proxy may write them only where its replicas deliver them.
  await reconcileSecretGrants(
    deps.app,
    { connection: name, names, settings },
    grantedNamespaces(reports?.data, now(), [settings.namespace, ...systemNamespaces]),
  );
  requeue.push(reportValidMs); // a replica that stopped reporting is forgotten without an event
  const deployment = await get<KubeObject & { status?: { replicas?: number; readyReplicas?: number } }>(
    deps.app,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: names.proxy, namespace: settings.namespace },
    },
  );
  status.proxy = {
    replicas: deployment?.status?.replicas ?? 0,
    readyReplicas: deployment?.status?.readyReplicas ?? 0,
  };

  // APIServices: apply ours, never overwrite someone else's, remove the ones no longer served.
  await reconcileAPIServices(deps, name, owner, groupVersions, endpoint, serving.ca.certPem, status, set);
  status.servedAPIs = groupVersions.length;

  const positive = requeue.filter((ms) => ms > 0);
  return positive.length ? { requeueAfterMs: Math.min(...positive) } : {};
}

async function reconcileAPIServices(
  deps: ReconcilerDeps,
  name: string,
  owner: OwnerReference[],
  groupVersions: ServedGroupVersion[],
  endpoint: ReturnType<typeof proxyEndpoint>,
  caPem: string,
  status: api.ControlPlaneConnectionStatus,
  set: (update: ConditionUpdate) => void,
): Promise<void> {
  const existing = await list<APIService>(deps.app, 'apiregistration.k8s.io/v1', 'APIService');
  const desired = desiredAPIServices(owner, name, groupVersions, endpoint, caPem);
  const clashes = conflicts(desired, existing, name);
  const clashing = new Set(clashes.map((c) => c.apiService));
  for (const obj of desired) if (!clashing.has(obj.metadata.name)) await apply(deps.app, obj);
  const wanted = new Set(desired.map((d) => d.metadata.name));
  for (const obj of existing) {
    if (obj.metadata.labels?.[connectionLabel] === name && !wanted.has(obj.metadata.name))
      await remove(deps.app, obj);
  }
  const current = new Map(existing.map((a) => [a.metadata.name, a]));
  status.apis = groupVersions.map((gv) => ({
    group: gv.group,
    version: gv.version,
    kinds: gv.resources.map((r) => r.kind),
    apiService: apiServiceName(gv),
    available: !clashing.has(apiServiceName(gv)) && available(current.get(apiServiceName(gv))).available,
  }));
  if (clashes.length > 0) {
    throw new ConditionError(
      'APIServiceConflict',
      clashes.map((c) => `APIService ${c.apiService} is owned by ${c.owner}`).join('; '),
      true,
    );
  }
  const unavailable = groupVersions
    .map((gv) => ({ name: apiServiceName(gv), state: available(current.get(apiServiceName(gv))) }))
    .filter((a) => !a.state.available);
  if (unavailable.length > 0) {
    const message = unavailable.map((a) => `${a.name}: ${a.state.message}`).join('; ');
    set({ type: 'APIServicesAvailable', status: 'False', reason: 'APIServiceUnavailable', message });
    throw new ConditionError('APIServiceUnavailable', message, false);
  }
  set({
    type: 'APIServicesAvailable',
    status: 'True',
    reason: 'Available',
    message: `${groupVersions.length} APIServices available`,
  });
  set({
    type: 'Ready',
    status: 'True',
    reason: 'Connected',
    message: `serving ${groupVersions.length} claim API group/versions from ${status.controlPlane?.server ?? 'the control plane'}`,
  });
}

async function appClusterUID(app: KubeClient): Promise<string> {
  const ns = await get(app, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
  if (!ns?.metadata.uid)
    throw new ConditionError(
      'ClusterIDUnknown',
      'cannot read the kube-system namespace of this cluster',
      false,
    );
  return ns.metadata.uid;
}

async function ensureNamespace(controlPlane: KubeClient, namespace: string): Promise<void> {
  try {
    const existing = await get(controlPlane, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    if (existing) {
      if (existing.metadata.deletionTimestamp) {
        throw new ConditionError(
          'TargetNamespaceTerminating',
          `namespace ${namespace} in the control plane is being deleted`,
          false,
        );
      }
      return;
    }
    await controlPlane.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: managedByLabels } },
    });
  } catch (err) {
    if (isForbidden(err)) {
      throw new ConditionError(
        'Forbidden',
        `cannot read or create namespace ${namespace} in the control plane: ${(err as Error).message}`,
        true,
      );
    }
    throw err;
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
