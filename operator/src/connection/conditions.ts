// Kubernetes-convention conditions: keyed by type, lastTransitionTime changing only when the status flips, and
// observedGeneration on each. Pure functions over plain objects.
import type { Condition } from '../api/connection.ts';

/**
 * Every condition type the operator sets on a ControlPlaneConnection, with what it reports. The API reference
 * (docs/api.md) is generated from these texts.
 */
export const conditionTypes = {
  Ready:
    'True when the credential works, the control plane answers and every APIService of the connection is ' +
    'Available; otherwise False with the reason of the first step that failed.',
  Reconciling: 'True while the operator is retrying a step that failed for a reason it expects to pass.',
  Stalled: 'True when a step failed for a reason only a human can fix; the reason says which.',
  CredentialsValid: 'Whether the control-plane credential could be read, parsed and was accepted.',
  ControlPlaneReachable: 'Whether the control plane answered GET /version with the credential.',
  APIsDiscovered: "True once the control plane's claim APIs were listed; the message names them.",
  APIServicesAvailable:
    "Whether the app cluster's aggregator reports every APIService of the connection Available.",
  NamespaceShared:
    'Whether other app clusters keep their claims in the same targetNamespace: they can read each ' +
    "other's claims, connection Secrets and events there (writes stay fenced). Informational; Ready ignores it.",
} as const;
export type ConditionType = keyof typeof conditionTypes;

/**
 * Every reason the operator writes into a condition (and into the event of a Ready transition). One list, so that
 * docs/troubleshooting.md can be checked against it: a unit test fails when a reason is missing there.
 */
export const conditionReasons = [
  // Success and summary reasons.
  'Connected',
  'ReconcileSucceeded',
  'Retrying',
  'Stalled',
  'NoError',
  'Valid',
  'Reachable',
  'Discovered',
  'Available',
  // Failures: the spec and the credential.
  'InvalidSpec',
  'CredentialsNotFound',
  'CredentialsInvalid',
  'InvalidKubeconfig',
  'UnsupportedCredential',
  'CredentialNotAllowed',
  'ImageNotAllowed',
  // Failures: reaching and using the control plane.
  'Unauthorized',
  'Forbidden',
  'ControlPlaneCertificateInvalid',
  'ControlPlaneUnreachable',
  'ControlPlaneError',
  'CrossplaneNotFound',
  'TargetNamespaceTerminating',
  // Failures: this cluster.
  'ClusterIDUnknown',
  'ClusterIDChanged',
  'APIServiceConflict',
  'APIServiceUnavailable',
  'ReconcileError',
  // Sharing of the target namespace.
  'SharedWithOtherClusters',
  'NotShared',
  'SharingUnknown',
  // Deletion.
  'DeletingClaims',
] as const;
export type ConditionReason = (typeof conditionReasons)[number];

export interface ConditionUpdate {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: ConditionReason;
  message?: string;
}

/** Returns the conditions with `update` merged in; the input is not modified. */
export function setCondition(
  conditions: readonly Condition[],
  update: ConditionUpdate,
  generation: number,
  now: Date,
): Condition[] {
  const existing = conditions.find((c) => c.type === update.type);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message ?? '',
    observedGeneration: generation,
    lastTransitionTime:
      existing && existing.status === update.status
        ? existing.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const others = conditions.filter((c) => c.type !== update.type);
  return [...others, next].sort((a, b) => order(a.type) - order(b.type));
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

const summaryFirst: string[] = ['Ready', 'Reconciling', 'Stalled'];
function order(type: string): number {
  const i = summaryFirst.indexOf(type);
  return i === -1 ? summaryFirst.length : i;
}
