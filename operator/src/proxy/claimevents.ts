// Control-plane Events about this cluster's claims (and namespaced XRs) as Events of the app cluster, so
// `kubectl describe` and `kubectl events --for` show what Crossplane did. Pure: eventdelivery.ts does the I/O.
//
// The app Event is named after the control-plane Event's uid, so every replica and every restart writes the same
// object (applied, never created twice), and a count bumped in the control plane updates it in place.
import { createHash } from 'node:crypto';
import { controlPlaneName, schemeOf } from '../claims/identity.ts';
import { connectionSecretAnnotation, originOf, type Obj, type Scope } from './translate.ts';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** A core/v1 Event, with the fields the translation reads. */
export interface CoreEvent {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  action?: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

/** Says who wrote an app Event: the control plane's component, then this suffix. */
export const relayedSuffix = ' via ctp-connector';
/** Label of app Events: the connection that delivered them. */
export const eventDeliveredByLabel = 'connect.ctp.dev/delivered-by';
/** Annotation of app Events: the control-plane Event they mirror (its uid). */
export const sourceEventAnnotation = 'connect.ctp.dev/source-event';
/** What stands in a message for a name of the connector's scheme that is not this claim's (another cluster's). */
export const hiddenName = '<hidden>';

/** The app Event's name: the app object's name (cut so the whole fits 253 characters) and a hash of the source uid. */
export function appEventName(appName: string, sourceUid: string): string {
  const hash = createHash('sha256').update(sourceUid).digest('hex').slice(0, 16);
  return `${appName.slice(0, 253 - 17).replace(/[-.]+$/, '')}.${hash}`;
}

// Names as Kubernetes writes them (DNS-1123 subdomains, dots inside only), delimited by anything else.
const nameToken = /[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*/g;
// A name of the connector's schemes: "<app name cut>-<16 hex>", or one Crossplane generated from it ("-<suffix>").
const mappedName = /-[0-9a-f]{16}(?:$|-)/;

/**
 * The message with the control plane's names in the app's words: the stored object's name and its connection
 * Secret's back to the app's, the target namespace to the app namespace, and any other name of the connector's
 * scheme (another cluster's claim, never expected in a message about ours) hidden.
 */
export function translateMessage(
  message: string,
  names: { stored: string; app: string; namespace: string; secret?: { stored: string; app: string } },
  scope: Scope,
): string {
  return message.replace(nameToken, (token) => {
    if (token === names.stored) return names.app;
    if (names.secret && token === names.secret.stored) return names.secret.app;
    if (token === scope.targetNamespace) return names.namespace;
    // Names Crossplane derives from the stored one (a claim's XR "<stored>-abcde") are what resourceRef shows.
    if (token.startsWith(`${names.stored}-`)) return token;
    if (mappedName.test(token)) return hiddenName;
    return token;
  });
}

/**
 * The app Event mirroring a control-plane Event about a stored object of this cluster; undefined when the event is
 * about anything else (another cluster's object, another namespace, an object the uid does not match).
 */
export function appEventOf(
  event: CoreEvent,
  object: Obj,
  scope: Scope,
  connection: string,
): CoreEvent | undefined {
  const ref = event.involvedObject;
  const meta = object.metadata;
  if (event.metadata.namespace !== scope.targetNamespace || ref.namespace !== scope.targetNamespace)
    return undefined;
  if (!meta?.uid || !meta.name || ref.uid !== meta.uid || ref.name !== meta.name) return undefined;
  if (ref.kind !== object.kind || ref.apiVersion !== object.apiVersion) return undefined;
  const origin = originOf(object, scope);
  const sourceUid = event.metadata.uid;
  if (!origin || !sourceUid) return undefined;
  const secretName = meta.annotations?.[connectionSecretAnnotation];
  const secret = secretName
    ? {
        app: secretName,
        stored: controlPlaneName(secretName, origin.namespace, scope.clusterID, schemeOf(object)),
      }
    : undefined;
  const names = { stored: meta.name, app: origin.name, namespace: origin.namespace, secret };
  const component = event.source?.component || event.reportingComponent || 'control plane';
  const count = event.count ?? event.series?.count ?? 1;
  const last = event.lastTimestamp ?? event.series?.lastObservedTime ?? event.eventTime ?? undefined;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: appEventName(origin.name, sourceUid),
      namespace: origin.namespace,
      labels: { [eventDeliveredByLabel]: connection },
      annotations: { [sourceEventAnnotation]: sourceUid },
    },
    involvedObject: {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      name: origin.name,
      namespace: origin.namespace,
      // The uid and resourceVersion the proxy serves are the stored object's: kubectl describe selects by uid.
      uid: ref.uid,
      ...(ref.resourceVersion ? { resourceVersion: ref.resourceVersion } : {}),
      ...(ref.fieldPath ? { fieldPath: ref.fieldPath } : {}),
    },
    reason: event.reason,
    message: translateMessage(event.message ?? '', names, scope).slice(0, 1024),
    type: event.type,
    count,
    firstTimestamp: event.firstTimestamp ?? last ?? null,
    lastTimestamp: last ?? event.firstTimestamp ?? null,
    // The control plane's host and instance name nothing the app cluster knows.
    source: { component: `${component}${relayedSuffix}` },
    reportingComponent: `${event.reportingComponent || component}${relayedSuffix}`,
    ...(event.action ? { action: event.action } : {}),
  };
}

/** What makes two app Events the same for the app cluster: what is written. Pure. */
export function eventFingerprint(event: CoreEvent): string {
  return JSON.stringify([event.count, event.lastTimestamp, event.message, event.type, event.reason]);
}
