// How fast the operator converges, timed from the outside as a user would see it: `kubectl apply` of a connection
// until its objects exist and until Ready=True; a new XRD in the control plane until its APIService is Available in
// the app cluster (and a removed one until the APIService is gone); many connections at once until all are Ready;
// and how often the operator reconciles a connection that nothing changes.
//
// Local mode has one proxy port for every connection (no kubelet: the proxy is a process the harness starts once the
// serving certificate exists, as a Deployment's pod would start), so only one connection's proxy can run at a time.
// A connection with APIServices is Ready only with its proxy running; the many-connections measurement therefore
// uses connections that serve no APIs (discovery None) — every other object (scoped identity and token in the
// control plane, Secrets, catalog, proxy workload) is still created — and they all become Ready without a proxy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { ownedNames } from '../operator/src/catalog/names.ts';
import { fixturesDir } from '../e2e/harness/fixtures.ts';
import { connectionManifest, operatorNamespace } from '../e2e/harness/connector.ts';
import { kubectlOk } from '../e2e/harness/kubectl.ts';
import type { ManagedProcess } from '../e2e/harness/processes.ts';
import { waitFor } from '../e2e/harness/wait.ts';
import { call, parse, type Target } from './http.ts';
import type { BenchEnvironment } from './setup.ts';

const connections = '/apis/connect.ctp.dev/v1alpha1/controlplaneconnections';

interface ConnectionObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}

export const isReady = (c: ConnectionObject | undefined): boolean =>
  Boolean(c?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));

async function exists(target: Target, path: string): Promise<boolean> {
  return (await call(target, 'GET', path)).status === 200;
}

/** Milliseconds from `start` (performance.now()) until probe() holds, polling every 100 ms. */
async function until(start: number, what: string, timeoutMs: number, probe: () => Promise<boolean>) {
  await waitFor(async () => ((await probe()) ? true : undefined), { timeoutMs, intervalMs: 100, what });
  return performance.now() - start;
}

/** The kubeconfig Secret prepareConnector writes: the control plane's admin credential. */
const controlPlaneRef = { kubeconfigSecretRef: { namespace: operatorNamespace, name: 'control-plane' } };

export function connectionSpec(
  targetNamespace: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { controlPlane: controlPlaneRef, targetNamespace, deletionPolicy: 'Delete', ...extra };
}

export interface ConnectionTimes {
  /** Token Secret, serving Secret, catalog, proxy Deployment and at least one APIService exist. */
  appliedMs: number;
  /** The serving certificate exists: when the harness starts the proxy process. */
  servingMs: number;
  readyMs: number;
}

/**
 * Applies a connection with kubectl, starts its proxy as soon as its serving certificate exists, and times it to
 * its objects and to Ready.
 */
export async function connectAndTime(
  env: BenchEnvironment,
  name: string,
  spec: Record<string, unknown>,
  startProxy: () => ManagedProcess,
  timeoutMs = 120_000,
): Promise<{ times: ConnectionTimes; proxy: ManagedProcess }> {
  const names = ownedNames(name);
  const app = env.admin.app;
  const ns = `/api/v1/namespaces/${operatorNamespace}`;
  const start = performance.now();
  await kubectlOk(env.app, ['apply', '-f', '-'], connectionManifest(name, spec));
  const servingMs = await until(start, `the serving Secret of ${name}`, timeoutMs, () =>
    exists(app, `${ns}/secrets/${names.serving}`),
  );
  const proxy = startProxy();
  const appliedMs = await until(start, `the objects of ${name}`, timeoutMs, async () => {
    const checks = await Promise.all([
      exists(app, `${ns}/secrets/${names.token}`),
      exists(app, `${ns}/configmaps/${names.catalog}`),
      exists(app, `/apis/apps/v1/namespaces/${operatorNamespace}/deployments/${names.proxy}`),
      call(
        app,
        'GET',
        `/apis/apiregistration.k8s.io/v1/apiservices?labelSelector=${encodeURIComponent(`connect.ctp.dev/connection=${name}`)}`,
      ).then((a) => a.status === 200 && parse<{ items: unknown[] }>(a).items.length > 0),
    ]);
    return checks.every(Boolean);
  });
  const readyMs = await until(start, `${name} Ready`, timeoutMs, async () => {
    const answer = await call(app, 'GET', `${connections}/${name}`);
    return answer.status === 200 && isReady(parse<ConnectionObject>(answer));
  });
  return { times: { appliedMs, servingMs, readyMs }, proxy };
}

/**
 * An XRD offering the fixtures' claim in another group and, where no Crossplane runs to generate it (applying it
 * beside Crossplane races its field manager), the claim CRD Crossplane would generate for it. Pure.
 */
export function claimAPI(group: string, options: { crossplane: boolean }): Record<string, unknown>[] {
  const read = (file: string) =>
    load(readFileSync(join(fixturesDir, 'control-plane', file), 'utf8')) as {
      metadata: { name: string; labels?: Record<string, string> };
      spec: { group: string };
    };
  const xrd = read('10-kubernetescluster-xrd.yaml');
  xrd.metadata.name = `xkubernetesclusters.${group}`;
  xrd.spec.group = group;
  const crd = read('11-kubernetescluster-claim-crd.yaml');
  crd.metadata.name = `kubernetesclusters.${group}`;
  crd.metadata.labels = { 'crossplane.io/xrd': xrd.metadata.name };
  crd.spec.group = group;
  return options.crossplane ? [xrd] : [xrd, crd];
}

export interface APIChangeTimes {
  /** From applying the XRD and its CRD in the control plane to the APIService Available in the app cluster. */
  availableMs: number;
  /** From deleting them to the APIService gone. */
  removedMs: number;
}

export async function newAPIAndTime(env: BenchEnvironment, group: string): Promise<APIChangeTimes> {
  const apiService = `/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.${group}`;
  const manifest = claimAPI(group, { crossplane: env.crossplane })
    .map((o) => dump(o))
    .join('---\n');
  try {
    let start = performance.now();
    await kubectlOk(env.controlPlane, ['apply', '--server-side', '-f', '-'], manifest);
    const availableMs = await until(start, `APIService v1alpha1.${group} Available`, 120_000, async () => {
      const answer = await call(env.admin.app, 'GET', apiService);
      if (answer.status !== 200) return false;
      const conditions = parse<{ status?: { conditions?: { type: string; status: string }[] } }>(answer)
        .status?.conditions;
      return Boolean(conditions?.some((c) => c.type === 'Available' && c.status === 'True'));
    });
    start = performance.now();
    await kubectlOk(env.controlPlane, ['delete', '-f', '-', '--wait=false'], manifest);
    const removedMs = await until(start, `APIService v1alpha1.${group} removed`, 120_000, async () => {
      return (await call(env.admin.app, 'GET', apiService)).status === 404;
    });
    return { availableMs, removedMs };
  } finally {
    // Untimed, and also when a step failed: an XRD left behind would be served by every other connection on shared
    // clusters. Where Crossplane runs, it made the composite's CRD from the XRD, and its XRD finalizer would remove
    // it only on a later look (100 s a run in bench-smoke): removed here, with nothing of the benchmark left behind.
    await kubectlOk(env.controlPlane, ['delete', '-f', '-', '--ignore-not-found', '--wait=false'], manifest);
    await kubectlOk(env.controlPlane, [
      ...['delete', 'crd', `xkubernetesclusters.${group}`, `kubernetesclusters.${group}`],
      ...['--ignore-not-found', '--wait=false'],
    ]);
    await until(performance.now(), `the CRDs of ${group} removed`, 120_000, async () => {
      const crds = ['xkubernetesclusters', 'kubernetesclusters'].map(
        (plural) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.${group}`,
      );
      const answers = await Promise.all(crds.map((path) => call(env.admin.controlPlane, 'GET', path)));
      return answers.every((a) => a.status === 404);
    });
  }
}

/** Deletes a connection and times it until the object is gone (its finalizer has cleaned up). */
export async function deleteAndTime(env: BenchEnvironment, names: string[]): Promise<number> {
  const start = performance.now();
  await kubectlOk(env.app, ['delete', 'ctpc', ...names, '--wait=false', '--ignore-not-found']);
  return until(start, `deletion of ${names.length} connections`, 300_000, async () => {
    const answer = await call(env.admin.app, 'GET', connections);
    const present = new Set(parse<{ items: ConnectionObject[] }>(answer).items.map((c) => c.metadata.name));
    return names.every((n) => !present.has(n));
  });
}

export interface ManyConnectionTimes {
  count: number;
  /** Per connection, from the one `kubectl apply` of all of them to its first Ready=True seen. */
  readyMs: number[];
}

/** Applies `count` connections in one kubectl apply, each to its own target namespace, and times each to Ready. */
export async function manyConnectionsAndTime(
  env: BenchEnvironment,
  names: string[],
  targetNamespace: (name: string) => string,
  timeoutMs = 600_000,
): Promise<ManyConnectionTimes> {
  const manifest = names
    .map((name) =>
      dump(
        JSON.parse(
          connectionManifest(name, connectionSpec(targetNamespace(name), { apis: { discovery: 'None' } })),
        ),
      ),
    )
    .join('---\n');
  const readyAt = new Map<string, number>();
  const start = performance.now();
  await kubectlOk(env.app, ['apply', '-f', '-'], manifest);
  await waitFor(
    async () => {
      const answer = await call(env.admin.app, 'GET', connections);
      const now = performance.now() - start;
      for (const c of parse<{ items: ConnectionObject[] }>(answer).items)
        if (names.includes(c.metadata.name) && !readyAt.has(c.metadata.name) && isReady(c))
          readyAt.set(c.metadata.name, now);
      return readyAt.size === names.length ? true : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `${names.length} connections Ready` },
  );
  return { count: names.length, readyMs: names.map((n) => readyAt.get(n)!) };
}

/** Lines "reconciled" per connection in the operator's (debug, JSON) log after byte `offset`. Pure. */
export function reconcileCounts(log: string, names: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const line of log.split('\n')) {
    if (!line.includes('"reconciled"')) continue;
    let entry: { msg?: string; key?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.msg === 'reconciled' && entry.key !== undefined && entry.key in counts) counts[entry.key]!++;
  }
  return counts;
}
