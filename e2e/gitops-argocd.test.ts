// Journey: Argo CD drives the connector, for real. Argo CD's application controller and repo server (built by
// `make tools`) run against a fresh app cluster and fetch two repositories from a Git server on loopback: the
// connector's (config/default) and the platform team's (config/gitops/workloads and config/gitops/control-plane).
// Its settings are the product's (config/gitops/argocd: annotation tracking and the Lua health checks, which Argo CD
// runs itself) and the Applications those of config/gitops/argocd/applications.yaml, with only their repoURL
// pointing at the local Git server. The control plane runs real Crossplane, which composes the claims.
//
// The operator runs in the test process and the proxy as a local process where a cluster with nodes would run
// their pods; the operator's Deployment, which Argo CD applies, has no kubelet to run it and so stays Progressing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dump, load, loadAll } from 'js-yaml';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import { type KubeClient, kubeconfigClient } from '../operator/src/kube/client.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';
import {
  argoCDNamespace,
  automatedSyncs,
  deleteWithResources,
  getApplication,
  refresh,
  resourceStatus,
  startArgoCD,
  summary,
  waitForApplication,
  type Application,
  type ArgoCD,
} from './harness/argocd.ts';
import {
  claimResource,
  getClaim,
  listClaims,
  pausedAnnotation,
  uncontrolledSecret,
  type Claim,
} from './harness/claims.ts';
import type { Cluster } from './harness/cluster.ts';
import { startProxyWhenServing } from './harness/connect.ts';
import { operatorNamespace, startTestOperator } from './harness/connector.ts';
import { ctpConnector } from './harness/connector-cli.ts';
import { pidFileName, startEnvironment, type Environment } from './harness/environment.ts';
import { installControlPlaneFixtures } from './harness/fixtures.ts';
import { startGitServer, type GitRepository, type GitServer } from './harness/gitserver.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { repoRoot } from './harness/paths.ts';
import { freePorts } from './harness/ports.ts';
import { reportTimings, type Timings } from './harness/timings.ts';
import { waitFor } from './harness/wait.ts';

/** Where the product's manifests expect the repositories; the test serves both from loopback. */
const upstream = {
  connector: 'https://github.com/ctp-connector/ctp-connector.git',
  platform: 'https://git.example.com/platform/app-cluster.git',
};
const connection = 'platform';
/** config/gitops/workloads/connection: the control-plane namespace of this cluster's claims. */
const targetNamespace = 'cluster-eu-1';
/** config/gitops/workloads/claims: the claim and its app namespace. */
const claimsFile = 'config/gitops/workloads/claims/kubernetescluster.yaml';
const appNamespace = 'shop';
/** config/gitops/argocd/applications.yaml, Application control-plane-claims: the team's control-plane namespace. */
const teamNamespace = 'team-shop';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, unknown>;

/** The product's Applications, with only their repoURL pointing at the local Git server. */
function applications(urls: Record<keyof typeof upstream, string>): Map<string, Manifest> {
  const file = readFileSync(join(repoRoot, 'config', 'gitops', 'argocd', 'applications.yaml'), 'utf8');
  const byName = new Map<string, Manifest>();
  for (const app of (loadAll(file) as Manifest[]).filter(Boolean)) {
    const source = (app.spec as { source: { repoURL: string } }).source;
    const repo = (Object.keys(upstream) as (keyof typeof upstream)[]).find(
      (k) => upstream[k] === source.repoURL,
    );
    if (!repo) throw new Error(`Application ${app.metadata.name}: unexpected repoURL ${source.repoURL}`);
    source.repoURL = urls[repo];
    byName.set(app.metadata.name, app);
  }
  return byName;
}

const storedName = (name: string, clusterID: string) => controlPlaneName(name, appNamespace, clusterID);

/** An Application whose last sync succeeded and that is Synced and Healthy, or undefined. */
const syncedAndHealthy = (a: Application): Application | undefined =>
  a.status?.operationState?.phase === 'Succeeded' &&
  a.status.sync?.status === 'Synced' &&
  a.status.health?.status === 'Healthy'
    ? a
    : undefined;

/**
 * Milliseconds from each write's response to the arrival of its watch event (negative: the event came first), for
 * `samples` merge patches of an annotation of `collection/name`, watched through the app cluster's kube-apiserver.
 */
async function writeToWatchEventMs(
  client: KubeClient,
  collection: string,
  name: string,
  samples: number,
): Promise<number[]> {
  const abort = new AbortController();
  const arrived = new Map<string, number>();
  const stream = await client.stream('GET', collection, {
    query: { watch: 'true', fieldSelector: `metadata.name=${name}` },
    signal: abort.signal,
  });
  const reading = (async () => {
    let pending = '';
    for await (const chunk of stream.body) {
      pending += chunk.toString();
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const event = JSON.parse(pending.slice(0, nl)) as {
          object: { metadata?: { resourceVersion?: string } };
        };
        arrived.set(event.object.metadata?.resourceVersion ?? '', Date.now());
        pending = pending.slice(nl + 1);
      }
    }
  })().catch(() => undefined);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const written = await client.request<{ metadata: { resourceVersion: string } }>(
        'PATCH',
        `${collection}/${name}`,
        {
          body: { metadata: { annotations: { 'e2e.ctp.dev/probe': String(i) } } },
          contentType: 'application/merge-patch+json',
        },
      );
      const answered = Date.now();
      const rv = written.metadata.resourceVersion;
      await waitFor(() => (arrived.has(rv) ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 1,
        what: `the watch event of ${collection}/${name} at ${rv}`,
      });
      latencies.push(arrived.get(rv)! - answered);
    }
  } finally {
    abort.abort();
    await reading;
  }
  return latencies;
}

describe('Argo CD (application controller and repo server) drives the connector', () => {
  const timings: Timings = {};
  let env: Environment;
  let app: Cluster;
  let cp: Cluster;
  let argo: ArgoCD;
  let git: GitServer;
  let connectorRepo: GitRepository;
  let platformRepo: GitRepository;
  let apps: Map<string, Manifest>;
  let operator: RunningOperator | undefined;
  let proxy: RunningProxy | undefined;
  let localProxyPort: number;
  let clusterID = '';
  /** The Git-driven syncs: the step and the revision it synced (their syncs are counted below). */
  const gitSyncs: { step: string; revision: string }[] = [];

  const applyApplication = (name: string) => {
    const manifest = apps.get(name);
    if (!manifest) throw new Error(`no Application ${name} in applications.yaml`);
    return kubectlOk(app, ['apply', '-f', '-'], JSON.stringify(manifest));
  };

  /** Publishes a change to the platform repository and waits until Argo CD has synced that revision. */
  const publishAndSync = async (step: string, change: () => void) => {
    change();
    const revision = await platformRepo.publish(step);
    const started = Date.now();
    await refresh(app, connection); // what a Git webhook does; without one Argo CD polls every 3 minutes
    const synced = await waitForApplication(
      app,
      connection,
      (a) =>
        a.status?.operationState?.phase === 'Succeeded' &&
        a.status.operationState.syncResult?.revision === revision &&
        a.status.sync?.status === 'Synced' &&
        a.status.health?.status === 'Healthy'
          ? a
          : undefined,
      `synced and healthy at ${revision.slice(0, 7)} (${step})`,
    );
    timings[`Git push → synced and healthy: ${step}`] = Date.now() - started;
    gitSyncs.push({ step, revision });
    return { revision, app: synced };
  };

  beforeAll(async () => {
    const started = Date.now();
    env = await startEnvironment({
      names: ['argocd-app', 'argocd-control-plane'],
      crossplane: ['argocd-control-plane'],
      handleSignals: false,
    });
    app = env.cluster('argocd-app');
    cp = env.cluster('argocd-control-plane');
    await installControlPlaneFixtures(cp);
    timings['clusters (control plane with Crossplane)'] = Date.now() - started;

    git = await startGitServer({ dir: join(env.dir, 'git') });
    connectorRepo = await git.repo('ctp-connector');
    connectorRepo.copy(join(repoRoot, 'config'), 'config');
    connectorRepo.copy(join(repoRoot, 'crds'), 'crds');
    await connectorRepo.publish('the connector');
    platformRepo = await git.repo('app-cluster');
    for (const dir of ['workloads', 'control-plane'])
      platformRepo.copy(join(repoRoot, 'config', 'gitops', dir), `config/gitops/${dir}`);
    await platformRepo.publish('the platform');
    apps = applications({ connector: connectorRepo.url, platform: platformRepo.url });

    argo = await startArgoCD({
      cluster: app,
      pidFile: join(env.dir, pidFileName),
      argocdCM: await kubectlOk(app, ['kustomize', join(repoRoot, 'config', 'gitops', 'argocd')]),
    });
    timings['Argo CD started (Redis, repo server, application controller)'] = argo.startMs;
    [localProxyPort] = (await freePorts(1)) as [number];
  });

  afterAll(async () => {
    await proxy?.stop();
    await operator?.stop();
    await git?.stop();
    await env?.stop();
    reportTimings('Argo CD', timings);
  });

  describe('bootstrap', () => {
    it('installs the connector from config/default (ctp-connector Application)', async () => {
      const started = Date.now();
      await applyApplication('ctp-connector');
      const synced = await waitForApplication(
        app,
        'ctp-connector',
        (a) =>
          a.status?.sync?.status === 'Synced' && a.status.operationState?.phase === 'Succeeded'
            ? a
            : undefined,
        'synced',
      );
      timings['ctp-connector Application synced'] = Date.now() - started;
      const resources = synced.status?.resources ?? [];
      expect(resources.filter((r) => r.status !== 'Synced')).toEqual([]);
      expect(resources.map((r) => r.kind)).toEqual(
        expect.arrayContaining([
          'CustomResourceDefinition',
          'Namespace',
          'ServiceAccount',
          'ClusterRole',
          'Deployment',
        ]),
      );
      // Everything is healthy but the operator's Deployment: no kubelet runs its pod here.
      expect(
        resources.filter((r) => r.health && r.health.status !== 'Healthy').map((r) => `${r.kind}/${r.name}`),
      ).toEqual(['Deployment/ctp-connector-operator']);
      expect(resourceStatus(synced, 'Deployment', 'ctp-connector-operator')?.health?.status).toBe(
        'Progressing',
      );
      // The operator, with its ServiceAccount's rights from what Argo CD applied, in place of that pod.
      operator = await startTestOperator(app, localProxyPort);
    });

    it('syncs the connection, waits for Argo CD to report it Healthy (its Lua check), then syncs the claims', async () => {
      // Out of Git (docs/gitops.md): the connection's credential, and the app namespace of the claims.
      await kubectlOk(app, [
        ...['-n', operatorNamespace, 'create', 'secret', 'generic', 'control-plane'],
        `--from-file=value=${cp.kubeconfigPath}`,
      ]);
      await kubectlOk(app, ['create', 'namespace', appNamespace]);
      const started = Date.now();
      await applyApplication(connection);

      // Wave 0 is applied and Argo CD's health check holds it Progressing: the proxy does not run yet, so the
      // connection is not Ready; wave 1 has not started, the claim does not exist.
      const waiting = await waitForApplication(
        app,
        connection,
        (a) => {
          const ctpc = resourceStatus(a, 'ControlPlaneConnection', connection);
          return ctpc?.status === 'Synced' && ctpc.health?.status === 'Progressing' ? a : undefined;
        },
        'the connection applied and Progressing',
      );
      expect(resourceStatus(waiting, 'ControlPlaneConnection', connection)?.health?.message).toMatch(/\S/);
      expect(resourceStatus(waiting, 'KubernetesCluster', 'shop')?.status).toBe('OutOfSync');
      expect(await getClaim(app, appNamespace, 'shop').catch(() => undefined)).toBeUndefined();

      // Where a cluster with nodes would start the proxy's pods.
      proxy = await startProxyWhenServing(app, connection, localProxyPort);
      const done = await waitForApplication(app, connection, syncedAndHealthy, 'synced and healthy');
      timings['platform Application: applied → synced and healthy'] = Date.now() - started;
      const ctpc = resourceStatus(done, 'ControlPlaneConnection', connection);
      expect(ctpc?.health).toEqual({
        status: 'Healthy',
        message: expect.stringMatching(/^serving \d+ claim API/),
      });
      expect(resourceStatus(done, 'KubernetesCluster', 'shop', appNamespace)).toMatchObject({
        status: 'Synced',
        health: { status: 'Healthy' },
        syncWave: 1,
      });
      // The waves in order: the claim was created only once the connection was Ready.
      const live = JSON.parse(await kubectlOk(app, ['get', 'ctpc', connection, '-o', 'json'])) as {
        status: {
          clusterID: string;
          conditions: { type: string; status: string; lastTransitionTime: string }[];
        };
      };
      clusterID = live.status.clusterID;
      const ready = live.status.conditions.find((c) => c.type === 'Ready');
      const claim = (await getClaim(app, appNamespace, 'shop')) as Claim & {
        metadata: { creationTimestamp: string };
      };
      expect(ready?.status).toBe('True');
      expect(Date.parse(claim.metadata.creationTimestamp)).toBeGreaterThanOrEqual(
        Date.parse(ready!.lastTransitionTime),
      );
      // Stored in the control plane, composed by Crossplane, tracked by Argo CD's annotation.
      const stored = await getClaim(cp, targetNamespace, storedName('shop', clusterID));
      expect(stored?.status?.conditions).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]),
      );
      expect(stored?.metadata.annotations?.['argocd.argoproj.io/tracking-id']).toBe(
        `${connection}:platform.example.org/KubernetesCluster:${appNamespace}/shop`,
      );
    });
  });

  describe('day 2', () => {
    const claimYaml = () => readFileSync(join(platformRepo.workTree, claimsFile), 'utf8');

    it('adds a claim committed to Git, and leaves the unchanged one alone', async () => {
      const before = await getClaim(cp, targetNamespace, storedName('shop', clusterID));
      const { app: synced } = await publishAndSync('add the claim cache', () => {
        const cache = (load(claimYaml()) as Claim & { spec: Record<string, unknown> }) ?? {};
        cache.metadata.name = 'cache';
        cache.spec.id = 'cache';
        delete cache.spec.writeConnectionSecretToRef;
        platformRepo.write({ 'config/gitops/workloads/claims/cache.yaml': dump(cache) });
        const kustomization = 'config/gitops/workloads/claims/kustomization.yaml';
        const k = load(readFileSync(join(platformRepo.workTree, kustomization), 'utf8')) as {
          resources: string[];
        };
        k.resources.push('cache.yaml');
        platformRepo.write({ [kustomization]: dump(k) });
      });
      expect(resourceStatus(synced, 'KubernetesCluster', 'cache', appNamespace)).toMatchObject({
        status: 'Synced',
        health: { status: 'Healthy' },
      });
      expect(await getClaim(cp, targetNamespace, storedName('cache', clusterID))).toBeDefined();
      const after = await getClaim(cp, targetNamespace, storedName('shop', clusterID));
      expect(after?.metadata.generation).toBe(before?.metadata.generation);
    });

    it('updates the claim in the control plane when it changes in Git', async () => {
      const { app: synced } = await publishAndSync('three nodes → five', () => {
        platformRepo.write({ [claimsFile]: claimYaml().replace('count: 3', 'count: 5') });
      });
      const stored = await getClaim(cp, targetNamespace, storedName('shop', clusterID));
      expect((stored?.spec.parameters as { nodes: { count: number } }).nodes.count).toBe(5);
      expect(resourceStatus(synced, 'KubernetesCluster', 'shop', appNamespace)?.status).toBe('Synced');
    });

    it('reverts drift made with kubectl (self-heal)', async () => {
      const before = await getApplication(app, connection);
      await kubectlOk(app, [
        ...['-n', appNamespace, 'patch', claimResource, 'shop', '--type=merge'],
        ...['-p', JSON.stringify({ spec: { parameters: { nodes: { size: 'large' } } } })],
      ]);
      const started = Date.now();
      const healed = await waitFor(
        async () => {
          const stored = await getClaim(cp, targetNamespace, storedName('shop', clusterID));
          const size = (stored?.spec.parameters as { nodes: { size: string } }).nodes.size;
          return size === 'small' && stored!.metadata.generation! > 2 ? stored : undefined;
        },
        { timeoutMs: 120_000, what: 'the drift reverted in the control plane' },
      );
      timings['kubectl drift → reverted'] = Date.now() - started;
      expect(healed.spec.parameters).toMatchObject({ nodes: { count: 5, size: 'small' } });
      // A self-heal sync: the same revision again, only the resources out of sync (history keeps no entry for it).
      const revision = before?.status?.sync?.revision ?? '';
      const after = await waitForApplication(
        app,
        connection,
        (a) => {
          const op = a.status?.operationState;
          const healing =
            op?.operation.sync?.revision === revision && (op.syncResult?.resources?.length ?? 0) === 1;
          return op?.phase === 'Succeeded' && healing && a.status?.sync?.status === 'Synced' ? op : undefined;
        },
        'the self-heal sync done',
      );
      expect(after.operation.initiatedBy?.automated).toBe(true);
      expect(after.syncResult?.resources?.map((r) => `${r.kind}/${r.name}`)).toEqual([
        'KubernetesCluster/shop',
      ]);
      expect(automatedSyncs(argo, connection, revision)).toBeGreaterThanOrEqual(2);
    });

    it.each(['client-side', 'server-side'])(
      'reports no difference for what it applied (%s diff): defaulted fields, managedFields, connector metadata',
      async (mode) => {
        const annotation = 'argocd.argoproj.io/compare-options';
        await kubectlOk(app, [
          ...['-n', argoCDNamespace, 'annotate', '--overwrite', 'applications.argoproj.io', connection],
          mode === 'server-side' ? `${annotation}=ServerSideDiff=true` : `${annotation}-`,
        ]);
        const requested = new Date().toISOString();
        await refresh(app, connection, 'hard');
        const compared = await waitForApplication(
          app,
          connection,
          (a) =>
            a.status?.reconciledAt &&
            a.status.reconciledAt >= requested.slice(0, 19) &&
            !a.metadata.annotations?.['argocd.argoproj.io/refresh']
              ? a
              : undefined,
          `compared again (${mode} diff)`,
        );
        expect(summary(compared)).toMatchObject({ sync: 'Synced', health: { status: 'Healthy' } });
        expect(compared.status?.resources?.filter((r) => r.status !== 'Synced')).toEqual([]);
        // There is something to differ in: what the API server, Crossplane and the connector add to the claim.
        const live = JSON.parse(
          await kubectlOk(app, [
            ...['-n', appNamespace, 'get', claimResource, 'shop'],
            ...['--show-managed-fields', '-o', 'json'],
          ]),
        ) as Claim & { metadata: { managedFields?: unknown[] }; spec: Record<string, unknown> };
        expect(live.metadata.managedFields?.length).toBeGreaterThan(0);
        expect(Object.keys(live.spec)).toEqual(expect.arrayContaining(['compositionRef', 'resourceRef']));
      },
    );

    it('prunes a claim removed from Git from the app cluster and the control plane', async () => {
      const { app: synced } = await publishAndSync('remove the claim cache', () => {
        platformRepo.remove('config/gitops/workloads/claims/cache.yaml');
        const kustomization = 'config/gitops/workloads/claims/kustomization.yaml';
        const k = load(readFileSync(join(platformRepo.workTree, kustomization), 'utf8')) as {
          resources: string[];
        };
        k.resources = k.resources.filter((r) => r !== 'cache.yaml');
        platformRepo.write({ [kustomization]: dump(k) });
      });
      expect(resourceStatus(synced, 'KubernetesCluster', 'cache')).toBeUndefined();
      expect(await getClaim(app, appNamespace, 'cache')).toBeUndefined();
      await waitFor(
        async () =>
          (await getClaim(cp, targetNamespace, storedName('cache', clusterID))) ? undefined : true,
        { timeoutMs: 60_000, what: 'the pruned claim gone from the control plane' },
      );
    });

    it('measures: how long after a write its watch event arrives, through the proxy and from kube-apiserver', async () => {
      const client = kubeconfigClient(app.kubeconfigPath);
      try {
        const samples = 20;
        const through = {
          'claim (through the proxy)': await writeToWatchEventMs(
            client,
            `/apis/platform.example.org/v1alpha1/namespaces/${appNamespace}/kubernetesclusters`,
            'shop',
            samples,
          ),
          'AppProject (a CRD of kube-apiserver)': await writeToWatchEventMs(
            client,
            `/apis/argoproj.io/v1alpha1/namespaces/${argoCDNamespace}/appprojects`,
            'default',
            samples,
          ),
        };
        const rows = Object.entries(through).map(([what, ms]) => {
          const sorted = [...ms].sort((a, b) => a - b);
          return `  ${what}: median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms, ${ms.filter((m) => m > 0).length}/${ms.length} after the response`;
        });
        process.stdout.write(
          `\nwrite response → its watch event (${samples} writes each):\n${rows.join('\n')}\n`,
        );
        for (const ms of Object.values(through)) expect(ms).toHaveLength(samples);
      } finally {
        await client.close();
      }
    });

    it('measures: a second, no-op self-heal sync after a Git-driven sync', async () => {
      // The issue's finding: Argo CD started a second sync of the revision it had just synced, because the claims'
      // watch events reached it after its post-sync comparison. One more Git-driven sync, and the measurement.
      await publishAndSync('five nodes → four', () => {
        platformRepo.write({ [claimsFile]: claimYaml().replace('count: 5', 'count: 4') });
      });
      // Let any second sync start and finish: the next comparison is done and nothing runs.
      const requested = new Date().toISOString().slice(0, 19);
      await refresh(app, connection);
      const settled = await waitForApplication(
        app,
        connection,
        (a) =>
          a.status?.reconciledAt &&
          a.status.reconciledAt >= requested &&
          a.status.operationState?.phase !== 'Running'
            ? a
            : undefined,
        'compared again, no operation running',
      );
      expect(settled.status?.sync?.status).toBe('Synced');
      const counts = gitSyncs.map((s) => ({ ...s, syncs: automatedSyncs(argo, connection, s.revision) }));
      const rows = counts.map(
        (s) => `  ${s.step}: ${s.syncs} automated sync(s) of ${s.revision.slice(0, 7)}`,
      );
      process.stdout.write(`\nArgo CD syncs per Git-driven change (1 expected):\n${rows.join('\n')}\n`);
      // Why a change was synced more than once: the controller's own words between its first and last start.
      for (const s of counts.filter((c) => c.syncs > 1)) {
        const lines = readFileSync(argo.controllerLog, 'utf8').split('\n');
        const starts = lines.flatMap((l, i) => (l.includes(`automated sync to '${s.revision}'`) ? [i] : []));
        const between = lines
          .slice(starts[0], (starts.at(-1) ?? 0) + 1)
          .filter((l) => l.includes(`application=${connection}`) || l.includes(`app=${connection}`))
          .filter((l) => !l.includes('level=debug'))
          .slice(0, 60);
        process.stdout.write(`\n${s.step}, ${s.syncs} syncs:\n${between.join('\n')}\n`);
      }
      for (const s of counts) expect(s.syncs).toBeGreaterThanOrEqual(1);
    });
  });

  describe("the product's Lua health checks, as Argo CD runs them, on what the operator and Crossplane report", () => {
    // A test Application of objects in the states the checks tell apart; the statuses are the operator's and
    // Crossplane's own, reached for real: a credential missing (the operator retries), a credential that is no
    // kubeconfig (only a human can fix it), a claim Crossplane refuses to finish, and a paused claim.
    const healthApp = 'health-checks';
    const refusedSecret = 'refused-kubeconfig';
    const health = (a: Application, kind: string, name: string, namespace?: string) =>
      resourceStatus(a, kind, name, namespace)?.health;

    it('Progressing while the operator retries, Degraded when only a human can fix the connection or the claim, Suspended when paused', async () => {
      const connectionOf = (name: string, secret: string) => ({
        apiVersion: 'connect.ctp.dev/v1alpha1',
        kind: 'ControlPlaneConnection',
        metadata: { name },
        spec: {
          controlPlane: { kubeconfigSecretRef: { namespace: operatorNamespace, name: secret } },
          targetNamespace: `health-${name}`,
        },
      });
      const claimOf = (
        name: string,
        extra: Partial<Claim['spec']>,
        annotations?: Record<string, string>,
      ) => ({
        apiVersion: 'platform.example.org/v1alpha1',
        kind: 'KubernetesCluster',
        metadata: { name, namespace: appNamespace, ...(annotations ? { annotations } : {}) },
        spec: { id: name, parameters: { nodes: { count: 1, size: 'small' } }, ...extra },
      });
      // Where Crossplane would write the claim's connection Secret, one it did not create: it refuses to.
      await uncontrolledSecret(cp, targetNamespace, storedName(refusedSecret, clusterID));
      await kubectlOk(app, [
        ...['-n', operatorNamespace, 'create', 'secret', 'generic', 'garbled'],
        '--from-literal=value=this is no kubeconfig',
      ]);
      platformRepo.write({
        'health/objects.yaml': [
          connectionOf('no-credential', 'does-not-exist'),
          connectionOf('garbled', 'garbled'),
          claimOf('refused', { writeConnectionSecretToRef: { name: refusedSecret } }),
          claimOf('paused', {}, { [pausedAnnotation]: 'true' }),
        ]
          .map((o) => dump(o))
          .join('---\n'),
      });
      await platformRepo.publish('objects in the states the health checks tell apart');
      await kubectlOk(
        app,
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: { name: healthApp, namespace: argoCDNamespace },
          spec: {
            project: 'default',
            source: { repoURL: platformRepo.url, targetRevision: 'main', path: 'health' },
            destination: { server: 'https://kubernetes.default.svc' },
            syncPolicy: { automated: { prune: true } },
          },
        }),
      );
      const seen = await waitForApplication(
        app,
        healthApp,
        (a) =>
          health(a, 'ControlPlaneConnection', 'no-credential')?.status === 'Progressing' &&
          health(a, 'ControlPlaneConnection', 'garbled')?.status === 'Degraded' &&
          health(a, 'KubernetesCluster', 'refused', appNamespace)?.message?.includes('uncontrolled secret') &&
          health(a, 'KubernetesCluster', 'paused', appNamespace)?.status === 'Suspended'
            ? a
            : undefined,
        'each object in its health',
      );
      expect(health(seen, 'ControlPlaneConnection', 'no-credential')?.message).toMatch(
        /^CredentialsNotFound: .*does-not-exist.* not found/,
      );
      expect(health(seen, 'ControlPlaneConnection', 'garbled')?.message).toMatch(/^InvalidKubeconfig: /);
      expect(health(seen, 'KubernetesCluster', 'refused', appNamespace)).toMatchObject({
        status: 'Degraded',
        message: expect.stringMatching(/^ReconcileError: /) as unknown,
      });
      expect(health(seen, 'KubernetesCluster', 'paused', appNamespace)?.message).toMatch(/^ReconcilePaused/);
      // The worst of its resources: Argo CD's own aggregation of what the checks said.
      expect(seen.status?.health?.status).toBe('Degraded');
    });

    it('deleting the Application removes its connections and claims', async () => {
      await deleteWithResources(app, healthApp, '--timeout=120s');
      for (const name of ['no-credential', 'garbled'])
        expect((await kubectl(app, ['get', 'ctpc', name])).code).not.toBe(0);
      await waitFor(
        async () =>
          (await listClaims(cp, targetNamespace)).some((c) =>
            ['refused', 'paused'].includes(c.metadata.annotations?.['connect.ctp.dev/app-name'] ?? ''),
          )
            ? undefined
            : true,
        { timeoutMs: 60_000, what: 'the claims of the health Application to be gone from the control plane' },
      );
      await kubectlOk(cp, ['-n', targetNamespace, 'delete', 'secret', storedName(refusedSecret, clusterID)]);
      await kubectlOk(app, ['-n', operatorNamespace, 'delete', 'secret', 'garbled']);
    });
  });

  describe('claims straight at the control plane', () => {
    it('syncs claims into a control-plane namespace through the Secret `ctp-connector gitops-secret` writes', async () => {
      const secret = await ctpConnector([
        ...['gitops-secret', '--for', 'argocd', '--name', 'control-plane'],
        cp.kubeconfigPath,
      ]);
      expect(secret.code).toBe(0);
      await kubectlOk(app, ['apply', '-f', '-'], secret.stdout);
      await kubectlOk(cp, ['create', 'namespace', teamNamespace]);
      const started = Date.now();
      await applyApplication('control-plane-claims');
      const done = await waitForApplication(
        app,
        'control-plane-claims',
        syncedAndHealthy,
        'synced and healthy',
      );
      timings['control-plane-claims: applied → synced and healthy'] = Date.now() - started;
      expect(resourceStatus(done, 'KubernetesCluster', 'shop', teamNamespace)).toMatchObject({
        status: 'Synced',
        health: { status: 'Healthy' },
      });
      const stored = await getClaim(cp, teamNamespace, 'shop');
      expect(stored?.status?.conditions).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]),
      );
    });

    it('prunes them when the Application is deleted with its resources', async () => {
      await deleteWithResources(app, 'control-plane-claims');
      await waitFor(async () => ((await getClaim(cp, teamNamespace, 'shop')) ? undefined : true), {
        timeoutMs: 60_000,
        what: 'the claim gone from the control plane',
      });
    });
  });

  describe('teardown', () => {
    it("deletes the Application with foreground propagation: its claims are deleted too (they are its resources, whatever the deletion policy), and the connection's finalizer runs", async () => {
      const claimsBefore = await listClaims(cp, targetNamespace);
      expect(claimsBefore.map((c) => c.metadata.name)).toEqual([storedName('shop', clusterID)]);
      await kubectlOk(app, [
        ...['-n', argoCDNamespace, 'patch', 'applications.argoproj.io', connection, '--type=merge'],
        ...[
          '-p',
          JSON.stringify({ metadata: { finalizers: ['resources-finalizer.argocd.argoproj.io/foreground'] } }),
        ],
      ]);
      const started = Date.now();
      await kubectlOk(app, [
        '-n',
        argoCDNamespace,
        'delete',
        'applications.argoproj.io',
        connection,
        '--wait=false',
      ]);
      await waitFor(async () => ((await getApplication(app, connection)) ? undefined : true), {
        timeoutMs: 180_000,
        what: 'the platform Application gone',
      });
      timings['platform Application deleted with its resources'] = Date.now() - started;
      expect((await kubectl(app, ['get', 'ctpc', connection])).code).not.toBe(0);
      expect(await getClaim(app, appNamespace, 'shop').catch(() => undefined)).toBeUndefined();
      // What the connection's finalizer does in the control plane: its scoped identity is gone.
      const scoped = await kubectlOk(cp, [
        ...['get', 'serviceaccounts,roles,rolebindings', '-n', targetNamespace],
        ...['-l', 'app.kubernetes.io/managed-by=ctp-connector', '-o', 'name'],
      ]);
      expect(scoped).toBe('');
      // deletionPolicy Migrate keeps the claims the connection leaves behind; Argo CD deleted its claims itself.
      expect((await listClaims(cp, targetNamespace)).map((c) => c.metadata.name)).toEqual([]);
    });
  });
});
