// `ctp-connector import`: moves the claims and namespaced XRs of a local Crossplane into the control plane through a
// ControlPlaneConnection (importplan.ts decides, this file observes and acts). Dry run unless --apply. Every step
// is idempotent and its outcome is recorded on the objects (annotations, the copies themselves), so a run that was
// interrupted is finished by running it again. The control plane is reached with the connection's own credential.
import { setTimeout as sleep } from 'node:timers/promises';
import * as api from '../api/connection.ts';
import type { APIService } from '../connection/apiservices.ts';
import { clientFor, readCredential } from '../connection/credentials.ts';
import { connectionLabel } from '../connection/names.ts';
import { originSelector } from '../claims/identity.ts';
import { isForbidden, isNotFound, KubeApiError, type KubeClient } from '../kube/client.ts';
import { list } from '../kube/resources.ts';
import type { Scope } from '../proxy/translate.ts';
import type { ImportOptions } from './args.ts';
import { appClusterClient } from './appcluster.ts';
import { cliFieldManager } from './connect.ts';
import {
  getConnection,
  readiness,
  requireConnectionAPI,
  resolveConnectionName,
  type Connection,
} from './connections.ts';
import { CliError, exitCodes } from './exit.ts';
import { controlPlaneCopy, exportedSecret, handedOverMetadata } from './importcopy.ts';
import {
  controlPlaneKey,
  crossplaneFields,
  externalNameAnnotation,
  importedFromAnnotation,
  importToAnnotation,
  isOurCopy,
  isReady,
  legacyResourceRefs,
  pausedAnnotation,
  pauseSeen,
  planImport,
  releasedByImportAnnotation,
  type ComposedResource,
  type ConnectionView,
  type GroupPlan,
  type ImportObserved,
  type ImportPlan,
  type LocalAPI,
  type LocalEntry,
  type LocalXRD,
  type Obj,
  type ObjectPlan,
} from './importplan.ts';
import { json, progress, table, type CliIO } from './output.ts';

const xrdPath = '/apis/apiextensions.crossplane.io/v1/compositeresourcedefinitions';
/** Crossplane's finalizers on claims and XRs; a paused object keeps them, so import removes them itself. */
const crossplaneFinalizer = /\.?apiextensions\.crossplane\.io$/;
export const importRequestedAnnotation = 'connect.ctp.dev/import-requested-at';

const collection = (a: { group: string; version: string; plural: string }, namespace?: string) =>
  `/apis/${a.group}/${a.version}${namespace ? `/namespaces/${namespace}` : ''}/${a.plural}`;

async function getOr<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>('GET', path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

interface XRDObject extends Obj {
  spec: {
    group: string;
    names: { kind: string; plural: string };
    claimNames?: { kind: string; plural: string };
    scope?: LocalXRD['scope'];
    versions: { name: string; served?: boolean; referenceable?: boolean }[];
  };
}

/** Why the connection cannot take objects, or undefined. APIServices held by local CRDs are what import frees. */
export function connectionProblem(
  connection: Connection,
  apiServices: readonly APIService[],
): string | undefined {
  if (connection.metadata.deletionTimestamp) return 'it is being deleted';
  const state = readiness(connection);
  if (state.state === 'Ready') return undefined;
  if (state.state === 'Stalled' && state.reason === 'APIServiceConflict') {
    const foreign = (connection.status?.apis ?? [])
      .filter((a) => !a.available)
      .map((a) => apiServices.find((s) => s.metadata.name === a.apiService))
      .filter(
        (s): s is APIService =>
          s !== undefined &&
          s.metadata.labels?.[connectionLabel] !== connection.metadata.name &&
          !(s.metadata.labels?.['kube-aggregator.kubernetes.io/automanaged'] === 'true' && !s.spec?.service),
      );
    if (foreign.length === 0) return undefined;
    return `APIService ${foreign.map((s) => s.metadata.name).join(', ')} belongs to another API server or connection`;
  }
  return `it is not Ready (${state.state}${'reason' in state ? ` ${state.reason}` : ''}: ${state.message})`;
}

function servedGroups(connection: Connection, apiServices: readonly APIService[]): Record<string, boolean> {
  const byGroup: Record<string, boolean> = {};
  for (const a of connection.status?.apis ?? []) {
    const live = apiServices.find((s) => s.metadata.name === a.apiService);
    const ok =
      live?.metadata.labels?.[connectionLabel] === connection.metadata.name &&
      live.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') === true;
    byGroup[a.group] = (byGroup[a.group] ?? true) && ok;
  }
  return byGroup;
}

/** Kind → resource, from discovery, cached per group/version. */
function resourceResolver(client: KubeClient) {
  const cache = new Map<string, Promise<{ name: string; kind: string; namespaced: boolean }[]>>();
  return async (apiVersion: string, kind: string) => {
    if (!cache.has(apiVersion)) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      cache.set(
        apiVersion,
        client
          .request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>('GET', path)
          .then((d) => d.resources.filter((r) => !r.name.includes('/'))),
      );
    }
    const found = (await cache.get(apiVersion)!).find((r) => r.kind === kind);
    if (!found) throw new CliError(`${kind} of ${apiVersion} is not served in the app cluster`);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return (namespace: string | undefined, name: string) =>
      `${base}${found.namespaced && namespace ? `/namespaces/${namespace}` : ''}/${found.name}/${name}`;
  };
}

export interface Observation {
  observed: ImportObserved;
  connection: Connection;
  scope: Scope;
  xrds: XRDObject[];
}

/** Everything the plan depends on, read from the app cluster and the control plane. Reads only. */
export async function observe(
  app: KubeClient,
  cp: KubeClient | undefined,
  connection: Connection,
): Promise<Observation> {
  const spec = connection.spec as { targetNamespace?: string } | undefined;
  const apiServices = await list<APIService>(app, 'apiregistration.k8s.io/v1', 'APIService');
  const view: ConnectionView = {
    name: connection.metadata.name,
    clusterID: connection.status?.clusterID,
    targetNamespace: spec?.targetNamespace,
    apis: (connection.status?.apis ?? []).map((a) => ({
      group: a.group,
      version: a.version,
      kinds: a.kinds,
    })),
    problem: connectionProblem(connection, apiServices),
  };
  const scope: Scope = { clusterID: view.clusterID ?? '', targetNamespace: view.targetNamespace ?? '' };
  const xrdList = (await getOr<{ items: XRDObject[] }>(app, xrdPath))?.items ?? [];
  const xrds: LocalXRD[] = xrdList.map((x) => ({
    name: x.metadata.name,
    group: x.spec.group,
    version:
      x.spec.versions.find((v) => v.referenceable)?.name ?? x.spec.versions.find((v) => v.served)?.name ?? '',
    kind: x.spec.names.kind,
    plural: x.spec.names.plural,
    ...(x.spec.claimNames ? { claim: x.spec.claimNames } : {}),
    scope: x.spec.scope ?? 'LegacyCluster',
    marked: x.metadata.annotations?.[importToAnnotation] !== undefined,
  }));
  const groups = new Set(xrds.map((x) => x.group));
  const crds = (
    await app.request<{
      items: (Obj & { spec: { group: string } })[];
    }>('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions')
  ).items
    .filter((c) => groups.has(c.spec.group))
    .map((c) => ({
      name: c.metadata.name,
      group: c.spec.group,
      xrd: (
        c.metadata.ownerReferences as { kind: string; name: string; controller?: boolean }[] | undefined
      )?.find((o) => o.kind === 'CompositeResourceDefinition' && o.controller)?.name,
    }));

  const resolve = resourceResolver(app);
  const composedOf = async (
    refs: { apiVersion: string; kind: string; name: string; namespace?: string }[],
  ) => {
    const out: ComposedResource[] = [];
    for (const ref of refs) {
      const path = (await resolve(ref.apiVersion, ref.kind))(ref.namespace, ref.name);
      const got = await getOr<Obj>(app, path);
      out.push({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        name: ref.name,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
        ...(got?.metadata.uid ? { uid: got.metadata.uid } : {}),
        ...(got?.metadata.annotations?.[externalNameAnnotation]
          ? { externalName: got.metadata.annotations[externalNameAnnotation] }
          : {}),
        released: got?.metadata.annotations?.[releasedByImportAnnotation] !== undefined,
        ...(got ? {} : { missing: true }),
      });
    }
    return out;
  };

  const entries: LocalEntry[] = [];
  const unmovable: ImportObserved['unmovable'] = [];
  for (const xrd of xrds) {
    const xrAPI: LocalAPI = {
      group: xrd.group,
      version: xrd.version,
      kind: xrd.kind,
      plural: xrd.plural,
      role: 'xr',
      xrd: xrd.name,
    };
    const xrs = (await getOr<{ items: Obj[] }>(app, collection(xrAPI)))?.items ?? [];
    if (xrd.scope === 'Namespaced') {
      for (const xr of xrs)
        entries.push({
          api: xrAPI,
          object: xr,
          composed: await composedOf(crossplaneFields(xr, 'xr').resourceRefs),
        });
      continue;
    }
    const claimAPI: LocalAPI | undefined = xrd.claim
      ? { ...xrAPI, kind: xrd.claim.kind, plural: xrd.claim.plural, role: 'claim' }
      : undefined;
    const claims = claimAPI ? ((await getOr<{ items: Obj[] }>(app, collection(claimAPI)))?.items ?? []) : [];
    const bound = new Set<string>();
    for (const claim of claims) {
      const xrName = (claim.spec?.resourceRef as { name?: string } | undefined)?.name;
      const xr = xrName ? xrs.find((x) => x.metadata.name === xrName) : undefined;
      if (xrName) bound.add(xrName);
      let secret: Obj | undefined;
      const secretName = crossplaneFields(claim, 'claim').secretName;
      if (secretName)
        secret = await getOr<Obj>(
          app,
          `/api/v1/namespaces/${claim.metadata.namespace}/secrets/${secretName}`,
        );
      entries.push({
        api: claimAPI!,
        object: claim,
        ...(xr ? { xr, xrPlural: xrd.plural } : {}),
        // A namespaced resource a v1 XR composed without recording its namespace is in its claim's.
        composed: xr
          ? await composedOf(
              legacyResourceRefs(xr).map((r) => ({
                ...r,
                namespace: r.namespace ?? claim.metadata.namespace,
              })),
            )
          : [],
        ...(secret ? { secret } : {}),
      });
    }
    for (const xr of xrs.filter((x) => !bound.has(x.metadata.name)))
      unmovable.push({
        api: xrAPI,
        name: xr.metadata.name,
        reason:
          xrd.scope === 'Cluster'
            ? 'a cluster-scoped XR: the connector serves only namespaced APIs'
            : 'an XR no claim is bound to: the connector serves its claims, not cluster-scoped XRs',
      });
  }

  const controlPlane: ImportObserved['controlPlane'] = { objects: {}, secrets: {}, imported: [] };
  if (cp && scope.clusterID && scope.targetNamespace) {
    const plan = planImport({ connection: view, xrds, crds, entries, unmovable, controlPlane, served: {} });
    for (const o of plan.objects) {
      const got = await getOr<Obj>(cp, `${collection(o, scope.targetNamespace)}/${o.controlPlaneName}`);
      if (got) controlPlane.objects[controlPlaneKey(o, o.controlPlaneName)] = got;
      if (o.secret) {
        const secret = await getOr<Obj>(
          cp,
          `/api/v1/namespaces/${scope.targetNamespace}/secrets/${o.secret.controlPlaneName}`,
        );
        if (secret) controlPlane.secrets[o.secret.controlPlaneName] = secret;
      }
    }
    // Copies of earlier runs whose local object is gone: every kind of the local XRDs, this cluster's only.
    const apis = xrds.flatMap((x): LocalAPI[] =>
      x.scope === 'Namespaced'
        ? [{ group: x.group, version: x.version, kind: x.kind, plural: x.plural, role: 'xr', xrd: x.name }]
        : x.claim
          ? [
              {
                group: x.group,
                version: x.version,
                kind: x.claim.kind,
                plural: x.claim.plural,
                role: 'claim',
                xrd: x.name,
              },
            ]
          : [],
    );
    for (const a of [...apis, ...importedAPIs(connection)]) {
      if (controlPlane.imported.some((i) => i.api.group === a.group && i.api.kind === a.kind)) continue;
      const items =
        (
          await getOr<{ items: Obj[] }>(
            cp,
            `${collection(a, scope.targetNamespace)}?labelSelector=${encodeURIComponent(originSelector(scope.clusterID))}`,
          )
        )?.items ?? [];
      for (const item of items)
        if (item.metadata.annotations?.[importedFromAnnotation])
          controlPlane.imported.push({ api: a, object: item });
    }
    for (const [field, plural] of [
      ['compositions', 'compositions'],
      ['compositionRevisions', 'compositionrevisions'],
    ] as const) {
      try {
        const found = await cp.request<{ items: Obj[] }>(
          'GET',
          `/apis/apiextensions.crossplane.io/v1/${plural}`,
        );
        controlPlane[field] = found.items.map((c) => c.metadata.name);
      } catch (err) {
        if (!isForbidden(err) && !isNotFound(err)) throw err;
      }
    }
  }
  return {
    observed: {
      connection: view,
      xrds,
      crds,
      entries,
      unmovable,
      controlPlane,
      served: servedGroups(connection, apiServices),
    },
    connection,
    scope,
    xrds: xrdList,
  };
}

/**
 * The kinds this cluster imported before, once their local XRDs are gone: remembered on the connection (a re-run
 * after the XRDs were removed still checks that their objects are served).
 */
export const importedAPIsAnnotation = 'connect.ctp.dev/imported-apis';
function importedAPIs(connection: Connection): LocalAPI[] {
  try {
    const parsed = JSON.parse(
      connection.metadata.annotations?.[importedAPIsAnnotation] ?? '[]',
    ) as LocalAPI[];
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

export interface ObjectResult extends ObjectPlan {
  /** What happened (apply) or would happen (dry run). */
  outcome: 'moved' | 'would move' | 'refused' | 'failed' | 'not reached';
  error?: string;
}

export interface ImportReport {
  connection: string;
  clusterID?: string;
  targetNamespace?: string;
  dryRun: boolean;
  objects: ObjectResult[];
  groups: (GroupPlan & {
    outcome: 'served' | 'would hand over' | 'refused' | 'failed' | 'not reached';
    error?: string;
  })[];
  counts: { moved: number; wouldMove: number; refused: number; failed: number };
  durationMs: number;
}

const mergePatch = (client: KubeClient, path: string, body: unknown) =>
  client.request<Obj>('PATCH', path, {
    body,
    contentType: 'application/merge-patch+json',
    query: { fieldManager: cliFieldManager },
  });

interface Context {
  app: KubeClient;
  cp: KubeClient;
  connection: Connection;
  scope: Scope;
  timeoutMs: number;
  now: () => Date;
  say: (line: string) => void;
  intervalMs: number;
}

async function until<T>(ctx: Context, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = ctx.now().getTime() + ctx.timeoutMs;
  for (;;) {
    const result = await probe();
    if (result !== undefined) return result;
    if (ctx.now().getTime() >= deadline)
      throw new CliError(`timed out waiting for ${what}; run import again to continue`, exitCodes.timeout);
    await sleep(ctx.intervalMs);
  }
}

/** Deletes with propagationPolicy Orphan and removes Crossplane's finalizer (a paused object keeps it), until gone. */
async function deleteOrphaning(ctx: Context, client: KubeClient, path: string, what: string): Promise<void> {
  try {
    await client.request('DELETE', path, { body: { propagationPolicy: 'Orphan' } });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  await until(ctx, `${what} to be deleted`, async () => {
    const got = await getOr<Obj>(client, path);
    if (!got) return true;
    const finalizers = got.metadata.finalizers ?? [];
    const kept = finalizers.filter((f) => !crossplaneFinalizer.test(f));
    if (kept.length !== finalizers.length) {
      try {
        await mergePatch(client, path, {
          metadata: { finalizers: kept, resourceVersion: got.metadata.resourceVersion },
        });
      } catch (err) {
        if (!(err instanceof KubeApiError && (err.code === 409 || err.code === 404))) throw err;
      }
    }
    return undefined;
  });
}

const localPath = (o: ObjectPlan) => `${collection(o, o.namespace)}/${o.name}`;
const cpPath = (ctx: Context, o: ObjectPlan) =>
  `${collection(o, ctx.scope.targetNamespace)}/${o.controlPlaneName}`;

async function runObjectStep(ctx: Context, o: ObjectPlan, entry: LocalEntry, step: string): Promise<void> {
  const { app, cp, scope } = ctx;
  const xrObjectPath = entry.xr ? xrPathOf(entry) : undefined;
  switch (step) {
    case 'pause': {
      const annotations = {
        [pausedAnnotation]: 'true',
        [importToAnnotation]: `${scope.targetNamespace}/${o.controlPlaneName}`,
      };
      await mergePatch(app, localPath(o), { metadata: { annotations } });
      if (xrObjectPath) await mergePatch(app, xrObjectPath, { metadata: { annotations } });
      return;
    }
    case 'await-paused':
      await until(
        ctx,
        `local Crossplane to see the pause of ${o.kind} ${o.namespace}/${o.name}`,
        async () => {
          const paused = [
            await getOr<Obj>(app, localPath(o)),
            ...(xrObjectPath ? [await getOr<Obj>(app, xrObjectPath)] : []),
          ];
          return paused.every((p) => p === undefined || pauseSeen(p)) ? true : undefined;
        },
      );
      return;
    case 'export-secret': {
      const secret = exportedSecret(entry, scope, o.secret!.name);
      try {
        await cp.request('POST', `/api/v1/namespaces/${scope.targetNamespace}/secrets`, { body: secret });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.code === 409)) throw err;
        const got = await getOr<Obj>(
          cp,
          `/api/v1/namespaces/${scope.targetNamespace}/secrets/${secret.metadata.name}`,
        );
        if (got?.metadata.annotations?.[importedFromAnnotation] !== o.uid)
          throw new CliError(
            `Secret ${scope.targetNamespace}/${secret.metadata.name} appeared in the control plane meanwhile`,
          );
      }
      return;
    }
    case 'create': {
      try {
        await cp.request('POST', collection(o, scope.targetNamespace), {
          body: controlPlaneCopy(entry, scope),
          query: { fieldManager: cliFieldManager },
        });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.code === 409)) throw err;
        const got = await getOr<Obj>(cp, cpPath(ctx, o));
        if (!got || !isOurCopy(got, entry, scope))
          throw new CliError(
            `${o.kind} ${scope.targetNamespace}/${o.controlPlaneName} appeared in the control plane meanwhile`,
          );
      }
      return;
    }
    case 'hand-over-secret':
      await mergePatch(app, `/api/v1/namespaces/${o.namespace}/secrets/${entry.secret!.metadata.name}`, {
        metadata: handedOverMetadata(entry, ctx.connection.metadata.name),
      });
      return;
    case 'await-ready':
      await until(
        ctx,
        `${o.kind} ${scope.targetNamespace}/${o.controlPlaneName} to become Ready in the control plane`,
        async () => {
          const got = await getOr<Obj>(cp, cpPath(ctx, o));
          return got && isReady(got) ? true : undefined;
        },
      );
      return;
    case 'release-composed': {
      const resolve = resourceResolver(app);
      for (const c of o.composed.filter((c) => !c.released && !c.missing)) {
        const path = (await resolve(c.apiVersion, c.kind))(c.namespace, c.name);
        try {
          await mergePatch(app, path, {
            metadata: {
              annotations: {
                [pausedAnnotation]: 'true',
                [releasedByImportAnnotation]: `${scope.targetNamespace}/${o.controlPlaneName}`,
              },
            },
          });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return;
    }
    case 'orphan-xr':
      await deleteOrphaning(ctx, app, xrObjectPath!, `XR ${entry.xr!.metadata.name}`);
      return;
    case 'delete-local': {
      // The copy is checked once more right before: nothing local goes unless its copy is there and Ready.
      const copy = await getOr<Obj>(cp, cpPath(ctx, o));
      if (!copy || !isOurCopy(copy, entry, scope) || !isReady(copy))
        throw new CliError(
          `${o.kind} ${scope.targetNamespace}/${o.controlPlaneName} is not Ready in the control plane: the local object stays`,
        );
      await deleteOrphaning(ctx, app, localPath(o), `${o.kind} ${o.namespace}/${o.name}`);
      return;
    }
  }
}

function xrPathOf(entry: LocalEntry): string {
  const xr = entry.xr!;
  return `/apis/${xr.apiVersion}/${entry.xrPlural ?? ''}/${xr.metadata.name}`;
}

async function runGroupStep(
  ctx: Context,
  g: GroupPlan,
  step: string,
  moved: ObjectPlan[],
  xrds: XRDObject[],
): Promise<void> {
  const { app } = ctx;
  const mine = xrds.filter((x) => g.xrds.includes(x.metadata.name));
  switch (step) {
    case 'mark-xrds':
      for (const x of mine)
        await mergePatch(app, `${xrdPath}/${x.metadata.name}`, {
          metadata: { annotations: { [importToAnnotation]: ctx.connection.metadata.name } },
        });
      // Remembered on the connection, so a run after the XRDs are gone still knows which kinds to check.
      await rememberAPIs(ctx, mine);
      return;
    case 'remove-xrds': {
      // Crossplane deletes every instance left of a deleted XRD: look right before, and keep it if any is there.
      for (const x of mine) {
        const version = x.spec.versions.find((v) => v.referenceable)?.name ?? x.spec.versions[0]?.name ?? '';
        const kinds = [x.spec.names, ...(x.spec.claimNames ? [x.spec.claimNames] : [])];
        for (const k of kinds) {
          const left =
            (
              await getOr<{ items: Obj[] }>(
                app,
                collection({ group: x.spec.group, version, plural: k.plural }),
              )
            )?.items ?? [];
          if (left.length)
            throw new CliError(
              `XRD ${x.metadata.name} is kept: ${left.length} ${k.kind} (${left
                .slice(0, 5)
                .map((l) => `${l.metadata.namespace ? `${l.metadata.namespace}/` : ''}${l.metadata.name}`)
                .join(', ')}) still in this cluster; run import again to move them`,
            );
        }
      }
      for (const x of mine) {
        try {
          await app.request('DELETE', `${xrdPath}/${x.metadata.name}`);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      await until(ctx, `the local CRDs of group ${g.group} to be deleted`, async () => {
        const crds = await app.request<{ items: (Obj & { spec: { group: string } })[] }>(
          'GET',
          '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
        );
        return crds.items.some((c) => c.spec.group === g.group) ? undefined : true;
      });
      return;
    }
    case 'await-served': {
      let nudged = 0;
      await until(ctx, `connection ${ctx.connection.metadata.name} to serve group ${g.group}`, async () => {
        // The operator looks at a stalled connection again only now and then: a change of it makes it look now.
        if (ctx.now().getTime() - nudged > 10_000) {
          nudged = ctx.now().getTime();
          await mergePatch(
            app,
            `/apis/${api.group}/${api.version}/${api.plural}/${ctx.connection.metadata.name}`,
            {
              metadata: { annotations: { [importRequestedAnnotation]: ctx.now().toISOString() } },
            },
          );
        }
        const connection = await getConnection(app, ctx.connection.metadata.name);
        if (!connection) throw new CliError(`connection ${ctx.connection.metadata.name} was deleted`);
        const apiServices = await list<APIService>(app, 'apiregistration.k8s.io/v1', 'APIService', {
          labelSelector: connectionLabel,
        });
        return servedGroups(connection, apiServices)[g.group] ? true : undefined;
      });
      return;
    }
    case 'verify-served':
      for (const o of moved.filter((m) => m.group === g.group)) {
        await until(
          ctx,
          `${o.kind} ${o.namespace}/${o.name} to be served under its name in this cluster`,
          async () => {
            try {
              const got = await app.request<Obj>('GET', localPath(o));
              if (got.metadata.annotations?.[importedFromAnnotation] !== o.uid)
                throw new CliError(
                  `${o.kind} ${o.namespace}/${o.name} in this cluster is not the imported copy (imported-from ${got.metadata.annotations?.[importedFromAnnotation] ?? 'none'})`,
                );
              return true;
            } catch (err) {
              if (isNotFound(err) || (err instanceof KubeApiError && err.code === 503)) return undefined;
              throw err;
            }
          },
        );
      }
      return;
  }
}

async function rememberAPIs(ctx: Context, xrds: XRDObject[]): Promise<void> {
  const known = importedAPIs(ctx.connection);
  for (const x of xrds) {
    const version = x.spec.versions.find((v) => v.referenceable)?.name ?? x.spec.versions[0]?.name ?? '';
    const names = x.spec.scope === 'Namespaced' ? x.spec.names : x.spec.claimNames;
    if (!names) continue;
    const entry: LocalAPI = {
      group: x.spec.group,
      version,
      kind: names.kind,
      plural: names.plural,
      role: x.spec.scope === 'Namespaced' ? 'xr' : 'claim',
      xrd: x.metadata.name,
    };
    if (!known.some((k) => k.group === entry.group && k.kind === entry.kind)) known.push(entry);
  }
  const updated = await mergePatch(
    ctx.app,
    `/apis/${api.group}/${api.version}/${api.plural}/${ctx.connection.metadata.name}`,
    { metadata: { annotations: { [importedAPIsAnnotation]: JSON.stringify(known) } } },
  );
  ctx.connection = updated as unknown as Connection;
}

const isPause = (step: string) => step === 'pause';

const outcomeOf = (o: ObjectPlan, dryRun: boolean): ObjectResult['outcome'] =>
  o.state === 'refused' ? 'refused' : o.state === 'moved' ? 'moved' : dryRun ? 'would move' : 'not reached';

/**
 * Runs the plan's steps in order: per group, its XRDs marked, all its objects paused, then each object's other steps
 * one object after the other, then the group handed to the connection. In a dry run nothing is called. The first
 * failure stops the run (what is done stays done).
 */
export async function executePlan(
  plan: ImportPlan,
  entries: readonly LocalEntry[],
  actions: {
    object: (o: ObjectPlan, entry: LocalEntry, step: string) => Promise<void>;
    group: (g: GroupPlan, step: string, moved: ObjectPlan[]) => Promise<void>;
    say: (line: string) => void;
  },
  dryRun: boolean,
): Promise<Pick<ImportReport, 'objects' | 'groups'>> {
  const objects: ObjectResult[] = plan.objects.map((o) => ({ ...o, outcome: outcomeOf(o, dryRun) }));
  const groups: ImportReport['groups'] = plan.groups.map((g) => ({
    ...g,
    outcome:
      g.state === 'refused'
        ? 'refused'
        : g.state === 'served' && g.steps.length === 0
          ? 'served'
          : dryRun
            ? 'would hand over'
            : 'not reached',
  }));
  if (dryRun) return { objects, groups };
  for (const g of groups) {
    if (g.state === 'refused') continue;
    const current = objects.filter((o) => o.group === g.group && o.state === 'move');
    try {
      if (g.steps.includes('mark-xrds')) {
        actions.say(`group ${g.group}: marking XRDs ${g.xrds.join(', ')} for removal once empty`);
        await actions.group(g, 'mark-xrds', []);
      }
      const run = async (o: ObjectResult, steps: readonly string[]) => {
        const entry = entries.find((e) => e.object.metadata.uid === o.uid)!;
        try {
          for (const step of steps) {
            await actions.object(o, entry, step);
            actions.say(`${o.kind} ${o.namespace}/${o.name}: ${step} done`);
          }
        } catch (err) {
          o.outcome = 'failed';
          o.error = (err as Error).message;
          throw err;
        }
      };
      // Every object of the group paused before any pause is waited for: local Crossplane records each pause on its
      // own schedule (up to its poll interval), so the waits overlap instead of adding up.
      for (const o of current) await run(o, o.steps.filter(isPause));
      for (const o of current) {
        await run(
          o,
          o.steps.filter((s) => !isPause(s)),
        );
        o.outcome = 'moved';
      }
      const moved = objects.filter((o) => o.group === g.group && o.outcome === 'moved');
      for (const step of g.steps.filter((s) => s !== 'mark-xrds')) {
        await actions.group(g, step, moved);
        actions.say(`group ${g.group}: ${step} done`);
      }
      g.outcome = 'served';
    } catch (err) {
      g.outcome = 'failed';
      g.error = (err as Error).message;
      throw Object.assign(err as Error, { partial: { objects, groups } });
    }
  }
  return { objects, groups };
}

export function importReport(
  plan: ImportPlan,
  result: Pick<ImportReport, 'objects' | 'groups'>,
  dryRun: boolean,
  durationMs: number,
): ImportReport {
  const count = (outcome: ObjectResult['outcome']) =>
    result.objects.filter((o) => o.outcome === outcome).length;
  return {
    connection: plan.connection,
    clusterID: plan.clusterID,
    targetNamespace: plan.targetNamespace,
    dryRun,
    ...result,
    counts: {
      moved: count('moved'),
      wouldMove: count('would move'),
      refused: count('refused'),
      failed: count('failed'),
    },
    durationMs,
  };
}

/** The human report: one row per object and per group, then every refusal with its reasons. Pure. */
export function renderImport(report: ImportReport): string {
  const rows = report.objects.map((o) => [
    `${o.kind}.${o.group}`,
    o.namespace,
    o.name,
    o.controlPlaneName,
    o.outcome,
    o.outcome === 'refused'
      ? (o.reasons[0] ?? '')
      : o.outcome === 'failed'
        ? (o.error ?? '')
        : o.outcome === 'moved'
          ? `${o.composed.length} composed resources kept`
          : o.steps.join(', '),
  ]);
  const head = report.dryRun ? `Dry run: nothing was changed. Run with --apply to import.\n` : '';
  const objects = rows.length
    ? table(['KIND', 'NAMESPACE', 'NAME', 'CONTROL-PLANE-NAME', 'OUTCOME', 'DETAIL'], rows)
    : 'No claims or namespaced XRs of a local Crossplane in this cluster.\n';
  const groups = report.groups.length
    ? '\n' +
      table(
        ['GROUP', 'XRDS', 'OUTCOME', 'DETAIL'],
        report.groups.map((g) => [
          g.group,
          g.xrds.join(',') || '-',
          g.outcome,
          g.outcome === 'refused'
            ? (g.reasons[0] ?? '')
            : g.outcome === 'failed'
              ? (g.error ?? '')
              : g.steps.join(', '),
        ]),
      )
    : '';
  const refusals = [
    ...report.objects
      .filter((o) => o.outcome === 'refused')
      .flatMap((o) => o.reasons.map((r) => `${o.kind} ${o.namespace}/${o.name}: ${r}`)),
    ...report.groups
      .filter((g) => g.outcome === 'refused')
      .flatMap((g) => g.reasons.map((r) => `group ${g.group}: ${r}`)),
  ];
  const c = report.counts;
  const summary = `\n${report.dryRun ? `${c.wouldMove} would move` : `${c.moved} moved`}, ${c.refused} refused${c.failed ? `, ${c.failed} failed` : ''} (connection ${report.connection}, control-plane namespace ${report.targetNamespace ?? '?'}, ${(report.durationMs / 1000).toFixed(1)}s)\n`;
  return (
    head +
    objects +
    groups +
    (refusals.length ? `\nRefused:\n${refusals.map((r) => `  ${r}`).join('\n')}\n` : '') +
    summary
  );
}

export async function runImport(options: ImportOptions, io: CliIO): Promise<void> {
  const started = io.now().getTime();
  const app = appClusterClient(options.app);
  const say = progress(io);
  let cp: KubeClient | undefined;
  try {
    await requireConnectionAPI(app);
    const name = await resolveConnectionName(app, options.name);
    const connection = await getConnection(app, name);
    if (!connection) throw new CliError(`ControlPlaneConnection ${name} not found in ${app.server}`);
    const parsed = api.parseSpec(connection.spec);
    if (!parsed.ok)
      throw new CliError(`ControlPlaneConnection ${name} has an invalid spec: ${parsed.message}`);
    cp = clientFor(await readCredential(app, parsed.spec.controlPlane), 'ctp-connector-cli');
    const observation = await observe(app, cp, connection);
    const plan = planImport(observation.observed);
    say(
      `${plan.objects.length} objects of a local Crossplane (${plan.objects.filter((o) => o.state === 'refused').length} refused); ${options.apply ? 'importing' : 'dry run'}`,
    );
    const ctx: Context = {
      app,
      cp,
      connection,
      scope: observation.scope,
      timeoutMs: options.timeoutMs,
      now: io.now,
      say,
      intervalMs: 500,
    };
    const print = (result: Pick<ImportReport, 'objects' | 'groups'>) => {
      const report = importReport(plan, result, !options.apply, io.now().getTime() - started);
      io.stdout(options.output === 'json' ? json(report) : renderImport(report));
      return report;
    };
    let result: Pick<ImportReport, 'objects' | 'groups'>;
    try {
      result = await executePlan(
        plan,
        observation.observed.entries,
        {
          object: (o, entry, step) => runObjectStep(ctx, o, entry, step),
          group: (g, step, moved) => runGroupStep(ctx, g, step, moved, observation.xrds),
          say,
        },
        !options.apply,
      );
    } catch (err) {
      const partial = (err as { partial?: Pick<ImportReport, 'objects' | 'groups'> }).partial;
      if (partial) print(partial);
      throw err;
    }
    const report = print(result);
    if (report.counts.refused > 0 && options.apply)
      throw new CliError(
        `${report.counts.refused} objects refused (see the report); the others were imported`,
      );
  } finally {
    await cp?.close();
    await app.close();
  }
}
