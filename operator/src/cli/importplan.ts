// What `ctp-connector import` does with the claims and namespaced XRs of a local Crossplane: local objects and the
// control plane's state in, a plan of steps with a reason for every refusal out. Pure; import.ts observes and acts.
//
// The order keeps every cloud resource: an object is paused in local Crossplane (which then neither composes nor
// deletes anything for it), copied into the control plane under the connector's name, and only once that copy is
// Ready there is the local one deleted with propagationPolicy Orphan and its Crossplane finalizer removed (a paused
// object keeps it) — so neither Crossplane nor the garbage collector deletes what it composed. A group is handed to
// the connection (its local XRDs deleted, so that their CRDs stop holding the APIService) only when no object of it
// stays behind: Crossplane deletes every remaining instance of an XRD that is deleted.
import { controlPlaneName } from '../claims/identity.ts';
import { deliveredByLabel } from '../catalog/names.ts';
import type { KubeObject } from '../kube/resources.ts';
import { originOf, type Scope } from '../proxy/translate.ts';

/** On a local object being imported: where its copy goes ("<targetNamespace>/<name>"). */
export const importToAnnotation = 'connect.ctp.dev/import-to';
/** On a control-plane copy (and its connection Secret): the uid of the local object it was imported from. */
export const importedFromAnnotation = 'connect.ctp.dev/imported-from';
/** On a control-plane copy: the local object's composed resources and their external names, as JSON. */
export const importedComposedAnnotation = 'connect.ctp.dev/imported-composed';
/** On a local composed resource left behind: the control-plane copy of its composite ("<namespace>/<name>"). */
export const releasedByImportAnnotation = 'connect.ctp.dev/released-by-import';
export const pausedAnnotation = 'crossplane.io/paused';
export const externalNameAnnotation = 'crossplane.io/external-name';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** A Kubernetes object with the spec and status Crossplane gives claims and XRs. */
export type Obj = KubeObject & {
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[] } & Record<string, unknown>;
};

/** What an object is to Crossplane: the claim of a v1 XRD, or the namespaced XR of a v2 XRD. */
export type Role = 'claim' | 'xr';

export interface LocalAPI {
  group: string;
  version: string;
  kind: string;
  plural: string;
  role: Role;
  xrd: string;
}

export interface LocalXRD {
  name: string;
  group: string;
  /** The version objects are read and copied at (referenceable). */
  version: string;
  kind: string;
  plural: string;
  claim?: { kind: string; plural: string };
  scope: 'LegacyCluster' | 'Namespaced' | 'Cluster';
  /** Marked by an earlier run for removal once empty. */
  marked: boolean;
}

export interface LocalCRD {
  name: string;
  group: string;
  /** The XRD that controls it, if one does. */
  xrd?: string;
}

export interface ComposedResource {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  externalName?: string;
  /** Already paused and marked by an earlier run. */
  released: boolean;
  missing?: boolean;
}

export interface LocalEntry {
  api: LocalAPI;
  object: Obj;
  /** v1 claims: the cluster-scoped XR it is bound to, while it exists, and the XRs' plural. */
  xr?: Obj;
  xrPlural?: string;
  composed: ComposedResource[];
  /** v1 claims: the connection Secret in the app namespace, when it exists. */
  secret?: Obj;
}

export interface ConnectionView {
  name: string;
  clusterID?: string;
  targetNamespace?: string;
  apis: { group: string; version: string; kinds: string[] }[];
  /** Why the connection cannot take objects now; undefined when it can. */
  problem?: string;
}

export interface ImportObserved {
  connection: ConnectionView;
  xrds: LocalXRD[];
  /** The local CRDs of the XRDs' groups. */
  crds: LocalCRD[];
  entries: LocalEntry[];
  /** Local objects of those XRDs that cannot be moved at all, with why (v1 XRs no claim is bound to, cluster XRs). */
  unmovable: { api: LocalAPI; name: string; namespace?: string; reason: string }[];
  controlPlane: {
    /** Objects at the names the plan uses, keyed by controlPlaneKey. */
    objects: Record<string, Obj>;
    /** Secrets in the target namespace at the names the plan uses. */
    secrets: Record<string, Obj>;
    /** Copies this cluster imported earlier (found by the imported-from annotation), with their api. */
    imported: { api: LocalAPI; object: Obj }[];
    /** Composition and revision names; undefined when the credential may not read them. */
    compositions?: string[];
    compositionRevisions?: string[];
  };
  /** Per local group: whether the connection's APIServices of it are ours and Available (the group is served). */
  served: Record<string, boolean>;
}

export type StepKind =
  | 'pause'
  | 'await-paused'
  | 'export-secret'
  | 'create'
  | 'hand-over-secret'
  | 'await-ready'
  | 'release-composed'
  | 'orphan-xr'
  | 'delete-local';

export type GroupStepKind = 'mark-xrds' | 'remove-xrds' | 'await-served' | 'verify-served';

export interface ObjectPlan {
  group: string;
  version: string;
  kind: string;
  plural: string;
  role: Role;
  namespace: string;
  name: string;
  uid?: string;
  controlPlaneName: string;
  /** move: steps to run; moved: an earlier run finished it; refused: reasons say why, nothing is done. */
  state: 'move' | 'moved' | 'refused';
  reasons: string[];
  steps: StepKind[];
  composed: ComposedResource[];
  /** The connection Secret's app name and control-plane name. */
  secret?: { name: string; controlPlaneName: string };
}

export interface GroupPlan {
  group: string;
  xrds: string[];
  state: 'hand-over' | 'served' | 'refused';
  reasons: string[];
  steps: GroupStepKind[];
}

export interface ImportPlan {
  connection: string;
  clusterID?: string;
  targetNamespace?: string;
  objects: ObjectPlan[];
  groups: GroupPlan[];
}

export const controlPlaneKey = (api: { group: string; kind: string }, name: string): string =>
  `${api.group}/${api.kind}/${name}`;

/** The spec fields that hold composition references, the composed resources and the connection Secret. */
export function crossplaneFields(
  obj: Obj,
  role: Role,
): {
  compositionRef?: string;
  compositionRevisionRef?: string;
  updatePolicy?: string;
  resourceRefs: { apiVersion: string; kind: string; name: string; namespace?: string }[];
  secretName?: string;
} {
  const spec = obj.spec ?? {};
  // v1 claims keep these at the top of spec, v2 XRs under spec.crossplane.
  const holder = (role === 'xr' ? (spec.crossplane ?? {}) : spec) as Record<string, unknown>;
  const name = (ref: unknown) => (ref as { name?: string } | undefined)?.name;
  const refs = (role === 'xr' ? holder.resourceRefs : undefined) as
    { apiVersion: string; kind: string; name: string; namespace?: string }[] | undefined;
  return {
    compositionRef: name(holder.compositionRef),
    compositionRevisionRef: name(holder.compositionRevisionRef),
    updatePolicy: holder.compositionUpdatePolicy as string | undefined,
    resourceRefs: (refs ?? []).map((r) => ({ ...r, namespace: r.namespace ?? obj.metadata.namespace })),
    secretName: role === 'claim' ? name(spec.writeConnectionSecretToRef) : undefined,
  };
}

/** The composed resources of a v1 XR (spec.resourceRefs). */
export function legacyResourceRefs(
  xr: Obj,
): { apiVersion: string; kind: string; name: string; namespace?: string }[] {
  return (
    (xr.spec?.resourceRefs as
      { apiVersion: string; kind: string; name: string; namespace?: string }[] | undefined) ?? []
  );
}

const condition = (obj: Obj | undefined, type: string) =>
  obj?.status?.conditions?.find((c) => c.type === type);
const describe = (c: Condition | undefined, type: string) =>
  c
    ? `${type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`
    : `no ${type} condition`;

export const pausedByImport = (obj: Obj | undefined): boolean =>
  obj?.metadata.annotations?.[pausedAnnotation] === 'true' &&
  obj.metadata.annotations[importToAnnotation] !== undefined;
/** Crossplane has seen the pause: it says so in Synced. */
export const pauseSeen = (obj: Obj | undefined): boolean =>
  condition(obj, 'Synced')?.reason === 'ReconcilePaused';
export const isReady = (obj: Obj | undefined): boolean => condition(obj, 'Ready')?.status === 'True';

/** Why local Crossplane's object cannot be moved as it is: not Ready, deleting, paused by someone else. */
function localProblems(entry: LocalEntry): string[] {
  const { object, xr } = entry;
  const problems: string[] = [];
  const what = entry.api.role === 'claim' ? 'claim' : 'XR';
  if (object.metadata.deletionTimestamp) problems.push(`the ${what} is being deleted`);
  const paused = object.metadata.annotations?.[pausedAnnotation] === 'true';
  if (paused && !pausedByImport(object))
    problems.push(
      `the ${what} is paused (${pausedAnnotation}) by someone else: import moves only what local Crossplane reconciles`,
    );
  const ready = condition(object, 'Ready');
  if (ready?.status !== 'True') problems.push(`the ${what} is not Ready (${describe(ready, 'Ready')})`);
  const synced = condition(object, 'Synced');
  if (!pausedByImport(object) && synced?.status !== 'True')
    problems.push(`the ${what} is not Synced (${describe(synced, 'Synced')})`);
  if (entry.api.role === 'claim') {
    const bound = (object.spec?.resourceRef as { name?: string } | undefined)?.name;
    if (!bound) problems.push('the claim is bound to no XR (spec.resourceRef)');
    else if (!xr && !pausedByImport(object)) problems.push(`its XR ${bound} does not exist`);
    if (xr?.metadata.deletionTimestamp) problems.push(`its XR ${xr.metadata.name} is being deleted`);
  }
  if (entry.composed.some((c) => c.missing && !pausedByImport(object)))
    problems.push(
      `composed resource ${entry.composed
        .filter((c) => c.missing)
        .map((c) => `${c.kind} ${c.name}`)
        .join(', ')} does not exist`,
    );
  return problems;
}

/** Why the control plane cannot take this copy: its names are taken, its composition is missing. */
function controlPlaneProblems(
  entry: LocalEntry,
  observed: ImportObserved,
  scope: Scope,
  cpName: string,
  secret: ObjectPlan['secret'],
): string[] {
  const problems: string[] = [];
  const { api, object } = entry;
  const ns = object.metadata.namespace ?? '';
  const existing = observed.controlPlane.objects[controlPlaneKey(api, cpName)];
  if (existing && !isOurCopy(existing, entry, scope)) {
    const origin = originOf(existing, scope);
    problems.push(
      origin
        ? `name collision: the control plane already holds ${api.kind} ${ns}/${object.metadata.name} of this cluster ` +
            `(${scope.targetNamespace}/${cpName}, not imported from this object): delete one of them`
        : `name collision: ${scope.targetNamespace}/${cpName} in the control plane is another object (uid ${existing.metadata.uid ?? '?'})`,
    );
  }
  if (secret) {
    const cpSecret = observed.controlPlane.secrets[secret.controlPlaneName];
    if (cpSecret && cpSecret.metadata.annotations?.[importedFromAnnotation] !== object.metadata.uid)
      problems.push(
        `name collision: Secret ${scope.targetNamespace}/${secret.controlPlaneName} (for connection Secret ${secret.name}) ` +
          'exists in the control plane and was not exported from this claim',
      );
  }
  const fields = crossplaneFields(object, api.role);
  const { compositions, compositionRevisions } = observed.controlPlane;
  if (fields.compositionRef && compositions && !compositions.includes(fields.compositionRef))
    problems.push(`its Composition ${fields.compositionRef} does not exist in the control plane`);
  if (
    fields.updatePolicy === 'Manual' &&
    fields.compositionRevisionRef &&
    compositionRevisions &&
    !compositionRevisions.includes(fields.compositionRevisionRef)
  )
    problems.push(
      `its CompositionRevision ${fields.compositionRevisionRef} (compositionUpdatePolicy Manual) does not exist in the control plane`,
    );
  return problems;
}

/** The control-plane object is the copy of this local object: named and labelled for it, and imported from it. */
export function isOurCopy(cp: Obj, entry: LocalEntry, scope: Scope): boolean {
  const origin = originOf(cp, scope);
  return (
    origin !== undefined &&
    origin.namespace === entry.object.metadata.namespace &&
    origin.name === entry.object.metadata.name &&
    cp.metadata.annotations?.[importedFromAnnotation] === entry.object.metadata.uid
  );
}

function servedBy(connection: ConnectionView, api: LocalAPI): boolean {
  return connection.apis.some(
    (a) => a.group === api.group && a.version === api.version && a.kinds.includes(api.kind),
  );
}

function planEntry(entry: LocalEntry, observed: ImportObserved, scope: Scope): ObjectPlan {
  const { api, object } = entry;
  const ns = object.metadata.namespace ?? '';
  const cpName = controlPlaneName(object.metadata.name, ns, scope.clusterID);
  const fields = crossplaneFields(object, api.role);
  const secret = fields.secretName
    ? { name: fields.secretName, controlPlaneName: controlPlaneName(fields.secretName, ns, scope.clusterID) }
    : undefined;
  const base: ObjectPlan = {
    group: api.group,
    version: api.version,
    kind: api.kind,
    plural: api.plural,
    role: api.role,
    namespace: ns,
    name: object.metadata.name,
    uid: object.metadata.uid,
    controlPlaneName: cpName,
    state: 'move',
    reasons: [],
    steps: [],
    composed: entry.composed,
    ...(secret ? { secret } : {}),
  };
  const reasons = [
    ...(servedBy(observed.connection, api)
      ? []
      : [
          `the connection does not serve ${api.kind}.${api.group}/${api.version} (the control plane has no such XRD, or spec.apis leaves it out)`,
        ]),
    ...localProblems(entry),
    ...controlPlaneProblems(entry, observed, scope, cpName, secret),
  ];
  if (reasons.length) return { ...base, state: 'refused', reasons };

  const cp = observed.controlPlane.objects[controlPlaneKey(api, cpName)];
  const steps: StepKind[] = [];
  const toPause = [object, ...(entry.xr ? [entry.xr] : [])];
  if (!toPause.every(pausedByImport)) steps.push('pause');
  if (!toPause.every(pauseSeen) || steps.includes('pause')) steps.push('await-paused');
  if (secret && entry.secret && !observed.controlPlane.secrets[secret.controlPlaneName])
    steps.push('export-secret');
  if (!cp) steps.push('create');
  if (entry.secret && entry.secret.metadata.labels?.[deliveredByLabel] !== observed.connection.name)
    steps.push('hand-over-secret');
  if (!cp || !isReady(cp)) steps.push('await-ready');
  if (entry.composed.some((c) => !c.released && !c.missing)) steps.push('release-composed');
  if (entry.xr) steps.push('orphan-xr');
  steps.push('delete-local');
  return { ...base, steps };
}

/** Moved by an earlier run: the local object is gone, its copy is in the control plane. */
function planImported(item: { api: LocalAPI; object: Obj }, scope: Scope): ObjectPlan | undefined {
  const origin = originOf(item.object, scope);
  if (!origin) return undefined;
  return {
    group: item.api.group,
    version: item.api.version,
    kind: item.api.kind,
    plural: item.api.plural,
    role: item.api.role,
    namespace: origin.namespace,
    name: origin.name,
    uid: item.object.metadata.annotations?.[importedFromAnnotation],
    controlPlaneName: item.object.metadata.name,
    state: 'moved',
    reasons: [],
    steps: [],
    composed: parseComposed(item.object.metadata.annotations?.[importedComposedAnnotation]),
  };
}

export function parseComposed(text: string | undefined): ComposedResource[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as ComposedResource[];
    return Array.isArray(parsed) ? parsed.map((c) => ({ ...c, released: true })) : [];
  } catch {
    return [];
  }
}

export function planImport(observed: ImportObserved): ImportPlan {
  const { connection } = observed;
  const head = {
    connection: connection.name,
    clusterID: connection.clusterID,
    targetNamespace: connection.targetNamespace,
  };
  const blocked =
    connection.problem ??
    (!connection.clusterID || !connection.targetNamespace
      ? 'the connection has no cluster ID or target namespace yet'
      : undefined);
  const scope: Scope = {
    clusterID: connection.clusterID ?? '',
    targetNamespace: connection.targetNamespace ?? '',
  };
  const local = new Set(observed.entries.map((e) => e.object.metadata.uid));
  let objects = [
    ...observed.entries.map((e) => planEntry(e, observed, scope)),
    ...observed.controlPlane.imported
      .filter((i) => !local.has(i.object.metadata.annotations?.[importedFromAnnotation]))
      .flatMap((i) => planImported(i, scope) ?? []),
  ];
  if (blocked) {
    objects = objects.map((o) =>
      o.state === 'move'
        ? { ...o, state: 'refused', steps: [], reasons: [`the connection cannot take objects: ${blocked}`] }
        : o,
    );
  }
  objects = refuseDuplicateNames(objects);

  const groups: GroupPlan[] = [];
  for (const group of [...new Set(observed.xrds.map((x) => x.group))].sort()) {
    const xrds = observed.xrds.filter((x) => x.group === group);
    const names = new Set(xrds.map((x) => x.name));
    const inGroup = objects.filter((o) => o.group === group);
    const reasons = [
      ...(blocked ? [`the connection cannot take objects: ${blocked}`] : []),
      ...(connection.apis.some((a) => a.group === group)
        ? []
        : [`the connection serves no API of group ${group}`]),
      ...observed.crds
        .filter((c) => c.group === group && (!c.xrd || !names.has(c.xrd)))
        .map(
          (c) => `CRD ${c.name} of this group is not a local Crossplane XRD's: its APIService stays local`,
        ),
      ...observed.unmovable
        .filter((u) => u.api.group === group)
        .map(
          (u) => `${u.api.kind} ${u.namespace ? `${u.namespace}/` : ''}${u.name} stays local: ${u.reason}`,
        ),
      ...inGroup
        .filter((o) => o.state === 'refused')
        .map((o) => `${o.kind} ${o.namespace}/${o.name} is refused`),
    ];
    if (reasons.length) {
      groups.push({ group, xrds: [...names], state: 'refused', reasons, steps: [] });
      // Objects of a group that stays local would not be served under their names: none of them moves.
      objects = objects.map((o) =>
        o.group === group && o.state === 'move'
          ? {
              ...o,
              state: 'refused',
              steps: [],
              reasons: [`group ${group} cannot be handed to the connection: ${reasons.join('; ')}`],
            }
          : o,
      );
      continue;
    }
    const steps: GroupStepKind[] = [];
    if (xrds.some((x) => !x.marked)) steps.push('mark-xrds');
    steps.push('remove-xrds', 'await-served', 'verify-served');
    groups.push({ group, xrds: [...names], state: 'hand-over', reasons: [], steps });
  }
  // Groups an earlier run handed over already: only the check that their objects are served remains.
  for (const group of [...new Set(objects.filter((o) => o.state === 'moved').map((o) => o.group))].sort()) {
    if (groups.some((g) => g.group === group)) continue;
    const served = observed.served[group] === true;
    groups.push({
      group,
      xrds: [],
      state: served ? 'served' : 'hand-over',
      reasons: [],
      steps: served ? ['verify-served'] : ['await-served', 'verify-served'],
    });
  }
  return { ...head, objects, groups };
}

/** Two objects that would take one control-plane name (a hash collision): neither moves. */
function refuseDuplicateNames(objects: ObjectPlan[]): ObjectPlan[] {
  const count = new Map<string, number>();
  for (const o of objects) {
    const key = controlPlaneKey(o, o.controlPlaneName);
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  return objects.map((o) =>
    o.state === 'move' && (count.get(controlPlaneKey(o, o.controlPlaneName)) ?? 0) > 1
      ? {
          ...o,
          state: 'refused',
          steps: [],
          reasons: [`name collision: another object maps to the control-plane name ${o.controlPlaneName}`],
        }
      : o,
  );
}
