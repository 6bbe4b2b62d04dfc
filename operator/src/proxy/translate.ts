// Translation of claim objects between the app cluster's view (namespace, name) and the control plane's
// (targetNamespace, mapped name, origin labels). Applied to every body going up and every object coming back,
// so a client never sees the control plane's names and can never forge the connector's metadata. Pure.
import {
  appNameAnnotation,
  clusterIDLabel,
  connectorLabels,
  labelValue,
  controlPlaneName,
  currentScheme,
  originLabels,
  schemeOf,
  type ClaimOrigin,
  type NameScheme,
} from '../claims/identity.ts';
import { deepFreeze } from '../kube/fieldsets.ts';

/** App-side name of the claim's connection Secret (spec.writeConnectionSecretToRef.name). */
export const connectionSecretAnnotation = 'connect.ctp.dev/app-connection-secret';
const connectorAnnotations = [appNameAnnotation, connectionSecretAnnotation];

export interface Scope {
  clusterID: string;
  targetNamespace: string;
}

/** A claim (or list, Table, Status) as the proxy handles it: the fields it reads and rewrites are typed. */
export type Obj = Record<string, unknown> & {
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown;
    managedFields?: { fieldsV1?: Record<string, unknown> }[];
  };
  spec?: { writeConnectionSecretToRef?: { name?: string } } & Record<string, unknown>;
};

/**
 * The object as it is stored in the control plane. `namespace` and `name` are the app cluster's; `scheme` is the
 * naming scheme of the stored object it writes (v1 claims keep their names and their Secrets' names).
 */
export function toControlPlane(
  obj: Obj,
  scope: Scope,
  origin: { namespace: string; name: string },
  scheme: NameScheme = currentScheme,
): Obj {
  const metadata = { ...obj.metadata };
  const full: ClaimOrigin = { clusterID: scope.clusterID, namespace: origin.namespace, name: origin.name };
  metadata.name = controlPlaneName(origin.name, origin.namespace, scope.clusterID, scheme);
  metadata.namespace = scope.targetNamespace;
  // App-cluster owners do not exist in the control plane; its garbage collector would delete the claim.
  delete metadata.ownerReferences;
  const labels = { ...metadata.labels };
  for (const key of connectorLabels) delete labels[key];
  metadata.labels = { ...labels, ...originLabels(full, scheme) };
  const annotations: Record<string, string> = { ...metadata.annotations };
  for (const key of connectorAnnotations) delete annotations[key];
  metadata.annotations = { ...annotations, [appNameAnnotation]: origin.name };
  const out: Obj = { ...obj, metadata };
  const secretRef = obj.spec?.writeConnectionSecretToRef;
  if (secretRef?.name) {
    // The mapping is one-way (long names are cut); remember the app-side name to map reads back.
    metadata.annotations[connectionSecretAnnotation] = secretRef.name;
    out.spec = {
      ...obj.spec,
      writeConnectionSecretToRef: {
        ...secretRef,
        name: controlPlaneName(secretRef.name, origin.namespace, scope.clusterID, scheme),
      },
    };
  }
  return out;
}

/** The object as the app cluster sees it; undefined when it does not belong to this cluster. */
export function fromControlPlane(obj: Obj, scope: Scope): Obj | undefined {
  const origin = originOf(obj, scope);
  if (!origin) return undefined;
  const metadata = { ...obj.metadata, name: origin.name, namespace: origin.namespace };
  const labels = { ...metadata.labels };
  for (const key of connectorLabels) delete labels[key];
  metadata.labels = labels;
  if (Object.keys(labels).length === 0) delete metadata.labels;
  const annotations = { ...metadata.annotations };
  const appSecretName = annotations[connectionSecretAnnotation];
  delete annotations[appNameAnnotation];
  delete annotations[connectionSecretAnnotation];
  metadata.annotations = annotations;
  if (Object.keys(annotations).length === 0) delete metadata.annotations;
  if (metadata.managedFields) metadata.managedFields = metadata.managedFields.map(withoutConnectorFields);
  const out: Obj = { ...obj, metadata };
  const secretRef = obj.spec?.writeConnectionSecretToRef;
  if (secretRef && appSecretName)
    out.spec = { ...obj.spec, writeConnectionSecretToRef: { ...secretRef, name: appSecretName } };
  return out;
}

/** Where a stored object came from, if it is this cluster's. */
export function originOf(obj: Obj, scope: Scope): { namespace: string; name: string } | undefined {
  const labels = obj.metadata?.labels ?? {};
  const name = obj.metadata?.annotations?.[appNameAnnotation];
  const namespace = labels['connect.ctp.dev/app-namespace'];
  if (!name || !namespace) return undefined;
  if (labels[clusterIDLabel] !== labelValue(scope.clusterID)) return undefined;
  // The stored name must be the one this cluster would give it: labels alone could be copied by anyone.
  if (obj.metadata?.name !== controlPlaneName(name, namespace, scope.clusterID, schemeOf(obj)))
    return undefined;
  return { namespace, name };
}

/** The app views of shared (frozen) field sets, shared in turn: 11 000 cached claims hold a handful of them. */
const appFieldSets = new WeakMap<Record<string, unknown>, Record<string, unknown>>();

function withoutConnectorFields(entry: { fieldsV1?: Record<string, unknown> }): {
  fieldsV1?: Record<string, unknown>;
} {
  const fields = entry.fieldsV1;
  if (!fields || !fields['f:metadata']) return entry;
  if (!Object.isFrozen(fields)) return { ...entry, fieldsV1: appFieldSet(fields) };
  let app = appFieldSets.get(fields);
  if (!app) appFieldSets.set(fields, (app = deepFreeze(appFieldSet(fields))));
  return { ...entry, fieldsV1: app };
}

function appFieldSet(fields: Record<string, unknown>): Record<string, unknown> {
  const metadata = fields['f:metadata'] as Record<string, Record<string, unknown> | undefined>;
  const strip = (section: Record<string, unknown> | undefined, keys: string[]) => {
    if (!section) return section;
    const copy = { ...section };
    for (const key of keys) delete copy[`f:${key}`];
    return copy;
  };
  return {
    ...fields,
    'f:metadata': {
      ...metadata,
      ...(metadata['f:labels'] ? { 'f:labels': strip(metadata['f:labels'], connectorLabels) } : {}),
      ...(metadata['f:annotations']
        ? { 'f:annotations': strip(metadata['f:annotations'], connectorAnnotations) }
        : {}),
    },
  };
}

/**
 * A control-plane answer (object, list, Table, Status) in the app cluster's view: only this cluster's objects, and
 * with `namespace` only that app namespace's; undefined when a single object is not one of them.
 */
export function translateResponse(
  obj: Obj,
  scope: Scope,
  namespace: string | undefined,
  name: string | undefined,
  /** Lists and Tables: only the object of this app-side name (a name field selector the control plane cannot apply). */
  onlyName?: string,
): Obj | undefined {
  const kind = obj.kind as string | undefined;
  if (kind === 'Status') {
    const details = obj.details as { name?: string } | undefined;
    return details && name ? { ...obj, details: { ...details, name } } : obj;
  }
  if (kind === 'Table') return translateTable(obj, scope, namespace, onlyName);
  if (Array.isArray(obj.items)) {
    const items = (obj.items as Obj[])
      .map((item) => fromControlPlane(item, scope))
      .filter(
        (item): item is Obj =>
          Boolean(item) &&
          (!namespace || item!.metadata?.namespace === namespace) &&
          (onlyName === undefined || item!.metadata?.name === onlyName),
      );
    return { ...obj, items };
  }
  const translated = fromControlPlane(obj, scope);
  if (!translated) return undefined;
  if (namespace && translated.metadata?.namespace !== namespace) return undefined;
  return translated;
}

function translateTable(
  obj: Obj,
  scope: Scope,
  namespace: string | undefined,
  onlyName: string | undefined,
): Obj {
  const rows = ((obj.rows as { cells: unknown[]; object?: Obj }[] | undefined) ?? []).flatMap((row) => {
    const object = row.object ? fromControlPlane(row.object, scope) : undefined;
    if (row.object && !object) return [];
    if (namespace && object?.metadata?.namespace !== namespace) return [];
    if (onlyName !== undefined && object?.metadata?.name !== onlyName) return [];
    // Printer columns show stored values: put the app-side names back (name, connection secret).
    const annotations = row.object?.metadata?.annotations;
    const secret = annotations?.[connectionSecretAnnotation];
    const appNamespace = object?.metadata?.namespace;
    const mappedSecret =
      secret && appNamespace && row.object
        ? controlPlaneName(secret, appNamespace, scope.clusterID, schemeOf(row.object))
        : undefined;
    const cells = (Array.isArray(row.cells) ? row.cells : []).map((cell, i) =>
      i === 0 && object?.metadata?.name
        ? object.metadata.name
        : mappedSecret && cell === mappedSecret
          ? secret
          : cell,
    );
    return [{ ...row, cells, ...(object ? { object } : {}) }];
  });
  return { ...obj, rows };
}

export interface WatchEvent {
  type: string;
  object: Obj;
}

/** A watch event in the app cluster's view; undefined when it is about another cluster's or namespace's object. */
export function translateEvent(
  event: WatchEvent,
  scope: Scope,
  namespace: string | undefined,
  onlyName?: string,
): WatchEvent | undefined {
  if (event.type === 'BOOKMARK' || event.type === 'ERROR') return event;
  if (!event.object || typeof event.object !== 'object') return undefined;
  const object = translateResponse(event.object, scope, namespace, undefined, onlyName);
  if (object && onlyName !== undefined && object.kind !== 'Table' && object.metadata?.name !== onlyName)
    return undefined;
  if (!object) return undefined;
  // A Table event carries one row; a row of another cluster or namespace means the event is not ours.
  if (
    object.kind === 'Table' &&
    Array.isArray(event.object.rows) &&
    event.object.rows.length > 0 &&
    (object.rows as unknown[]).length === 0
  ) {
    return undefined;
  }
  return { type: event.type, object };
}
