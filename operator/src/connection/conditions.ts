// Kubernetes-convention conditions: keyed by type, lastTransitionTime changing only when the status flips, and
// observedGeneration on each. Pure functions over plain objects.
import type { Condition } from '../api/connection.ts';

export type ConditionType =
  | 'Ready'
  | 'Reconciling'
  | 'Stalled'
  | 'CredentialsValid'
  | 'ControlPlaneReachable'
  | 'APIsDiscovered'
  | 'ProxyReady'
  | 'APIServicesAvailable';

export interface ConditionUpdate {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
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
