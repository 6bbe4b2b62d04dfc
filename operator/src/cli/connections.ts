// Reading ControlPlaneConnections for the CLI, judging their state the way kstatus and `kubectl wait` do, and
// waiting for a state while reporting each condition change.
import { setTimeout as sleep } from 'node:timers/promises';
import * as api from '../api/connection.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';
import { get, type KubeObject } from '../kube/resources.ts';
import { CliError, exitCodes } from './exit.ts';

export type Connection = KubeObject & { spec?: unknown; status?: api.ControlPlaneConnectionStatus };

const collection = `/apis/${api.group}/${api.version}/${api.plural}`;

export function getConnection(app: KubeClient, name: string): Promise<Connection | undefined> {
  return get<Connection>(app, {
    apiVersion: api.apiVersion,
    kind: api.kind,
    metadata: { name },
  });
}

export async function listConnections(app: KubeClient): Promise<Connection[]> {
  const list = await app.request<{ items: Connection[] }>('GET', collection);
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** Fails with a clear message when the ControlPlaneConnection API is not installed in the app cluster. */
export async function requireConnectionAPI(app: KubeClient): Promise<void> {
  try {
    await app.request('GET', `/apis/${api.group}/${api.version}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw new CliError(
      `${app.server} does not serve ${api.apiVersion}: install the connector first (its CRD and operator), ` +
        'e.g. with the Helm chart or `kubectl apply -k config/default`',
    );
  }
}

/** The one connection named, or the only one in the cluster when no name is given. */
export async function resolveConnectionName(app: KubeClient, name: string | undefined): Promise<string> {
  if (name) return name;
  const all = await listConnections(app);
  if (all.length === 1) return all[0]!.metadata.name;
  if (all.length === 0) throw new CliError(`no ControlPlaneConnection in ${app.server}`);
  throw new CliError(
    `${all.length} ControlPlaneConnections (${all.map((c) => c.metadata.name).join(', ')}): name the one you mean`,
    exitCodes.usage,
  );
}

export type Readiness =
  | { state: 'Ready'; message: string }
  | { state: 'Stalled'; reason: string; message: string }
  | { state: 'Progressing'; message: string };

/**
 * Ready only when the Ready condition is True for the current generation (as `kubectl wait` decides), Stalled
 * when the operator says only a human can help (as kstatus decides), Progressing otherwise.
 */
export function readiness(connection: Connection): Readiness {
  const generation = connection.metadata.generation ?? 0;
  const status = connection.status;
  const observed = status?.observedGeneration;
  if (!status || observed === undefined || observed < generation) {
    return { state: 'Progressing', message: 'waiting for the operator to reconcile the current generation' };
  }
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const stalled = status.conditions?.find((c) => c.type === 'Stalled');
  if (stalled?.status === 'True') {
    return { state: 'Stalled', reason: stalled.reason, message: stalled.message || ready?.message || '' };
  }
  if (ready?.status === 'True' && (ready.observedGeneration ?? generation) >= generation) {
    return { state: 'Ready', message: ready.message ?? '' };
  }
  return {
    state: 'Progressing',
    message: ready ? `${ready.reason}${ready.message ? `: ${ready.message}` : ''}` : 'no Ready condition yet',
  };
}

/** One line per condition whose status, reason or message changed between two observations. Pure. */
export function conditionChanges(
  before: readonly api.Condition[] | undefined,
  after: readonly api.Condition[] | undefined,
): string[] {
  const lines: string[] = [];
  for (const c of after ?? []) {
    const old = before?.find((b) => b.type === c.type);
    if (old && old.status === c.status && old.reason === c.reason && old.message === c.message) continue;
    lines.push(`${c.type}=${c.status} ${c.reason}${c.message ? `: ${c.message}` : ''}`);
  }
  return lines;
}

export interface WatchOptions<T> {
  timeoutMs: number;
  /** A result ends the wait; undefined keeps waiting. May throw to fail. */
  until: (connection: Connection | undefined) => T | undefined;
  report: (line: string) => void;
  /** What is awaited, for the timeout message. */
  what: string;
  now: () => Date;
  intervalMs?: number;
}

/**
 * Polls one connection until `until` returns a result, reporting condition changes as they happen. Polling
 * rather than a watch: one object, a second apart, survives every kind of connection hiccup.
 */
export async function watchConnection<T>(
  app: KubeClient,
  name: string,
  options: WatchOptions<T>,
): Promise<T> {
  const deadline = options.now().getTime() + options.timeoutMs;
  let last: Connection | undefined;
  for (;;) {
    const current = await getConnection(app, name);
    for (const line of conditionChanges(last?.status?.conditions, current?.status?.conditions)) {
      options.report(line);
    }
    if (current?.metadata.deletionTimestamp && !last?.metadata.deletionTimestamp) {
      options.report(
        `being deleted; finalizers: ${(current.metadata.finalizers ?? []).join(', ') || 'none'}`,
      );
    }
    last = current ?? last;
    const result = options.until(current);
    if (result !== undefined) return result;
    if (options.now().getTime() >= deadline) {
      const state = current ? readiness(current) : undefined;
      throw new CliError(
        `timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${options.what}` +
          (state ? ` (last state: ${state.state}: ${state.message})` : ''),
        exitCodes.timeout,
      );
    }
    await sleep(options.intervalMs ?? 1000);
  }
}
