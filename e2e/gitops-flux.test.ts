// Flux for real: source-controller fetches the loopback Git server, kustomize-controller applies what
// docs/gitops.md tells users to apply (config/gitops/flux, verbatim but for the repository URLs), into a fresh app
// cluster against the shared control plane. Its own health checks gate each step: kstatus on the connector's
// Deployment and on the ControlPlaneConnection, the CEL healthCheckExprs on the claims. Then day 2 (a change in Git,
// drift made with kubectl, a claim removed from Git, a reconcile that finds nothing to change), the claims applied
// straight at the control plane with the Secret `ctp-connector gitops-secret` writes, and teardown.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dump, load, loadAll } from 'js-yaml';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';
import { claimResource, getClaim, uncontrolledSecret, type Claim } from './harness/claims.ts';
import type { Cluster } from './harness/cluster.ts';
import { startProxyWhenServing } from './harness/connect.ts';
import { ctpConnector } from './harness/connector-cli.ts';
import { operatorNamespace, startTestOperator } from './harness/connector.ts';
import { pidFileName, startEnvironment, type Environment } from './harness/environment.ts';
import { fluxNamespace, installFluxCRDs, requestReconcile, startFlux, type Flux } from './harness/flux.ts';
import { startGitServer, type GitRepository, type GitServer } from './harness/gitserver.ts';
import { standInKubelet, type KubeletStandIn } from './harness/kubelet.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { repoRoot } from './harness/paths.ts';
import { freePorts } from './harness/ports.ts';
import { sharedCluster } from './harness/shared.ts';
import { reportTimings, type Timings } from './harness/timings.ts';
import { waitFor } from './harness/wait.ts';

const cp = sharedCluster('control-plane');
const fluxDir = join(repoRoot, 'config', 'gitops', 'flux');
const connection = 'platform';
// config/gitops/workloads/connection: the control-plane namespace of this cluster's claims.
const targetNamespace = 'cluster-eu-1';
const claimsPath = 'config/gitops/workloads/claims';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface FluxObject {
  metadata: { name: string; generation?: number; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    lastHandledReconcileAt?: string;
    artifact?: { revision: string; digest: string; url: string };
    inventory?: { entries: { id: string; v: string }[] };
  };
}
type Manifest = FluxObject & { apiVersion: string; kind: string };

const readManifests = (file: string) =>
  (loadAll(readFileSync(join(fluxDir, file), 'utf8')) as Manifest[]).filter(Boolean);

/** The documented manifests as applied: the GitRepositories' URLs point at the loopback server, nothing else changes. */
function atLoopback(manifests: Manifest[], urls: Record<string, string>): Manifest[] {
  return manifests.map((m) => {
    if (m.kind !== 'GitRepository') return m;
    const url = urls[m.metadata.name];
    if (!url) throw new Error(`no loopback repository for GitRepository ${m.metadata.name}`);
    return { ...m, spec: { ...m.spec, url } };
  });
}

const asList = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

const ready = (o: FluxObject | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

describe('Flux (source-controller, kustomize-controller) drives the connector', () => {
  const timings: Timings = {};
  let env: Environment;
  let app: Cluster;
  let flux: Flux;
  let git: GitServer;
  let connectorRepo: GitRepository;
  let platformRepo: GitRepository;
  let kubelet: KubeletStandIn | undefined;
  let operator: RunningOperator | undefined;
  let proxy: RunningProxy | undefined;
  let localProxyPort: number;
  let clusterID = '';

  const get = async (resource: string, name: string, namespace = fluxNamespace) => {
    const r = await kubectl(app, ['-n', namespace, 'get', resource, name, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as FluxObject) : undefined;
  };
  /** Waits until the object is Ready=True for its current generation and `also` holds; returns it. */
  const waitReady = (resource: string, name: string, timeoutMs = 90_000, also = (_o: FluxObject) => true) =>
    waitFor(
      async () => {
        const o = await get(resource, name);
        const r = ready(o);
        if (o && r?.status === 'True' && o.status?.observedGeneration === o.metadata.generation && also(o))
          return o;
        throw new Error(`${resource} ${name}: ${JSON.stringify(r)}`);
      },
      { timeoutMs, intervalMs: 500, what: `${resource} ${name} to be Ready` },
    );
  /** Waits until the object's Ready condition matches; returns it. */
  const waitCondition = (resource: string, name: string, match: (c: Condition) => boolean, what: string) =>
    waitFor(
      async () => {
        const o = await get(resource, name);
        const r = ready(o);
        if (o && r && match(r)) return o;
        throw new Error(`${resource} ${name}: ${JSON.stringify(r)}`);
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `${resource} ${name}: ${what}` },
    );
  /** `flux reconcile <kind> <name>`, then wait until the controller handled that request and is Ready again. */
  const reconcile = async (resource: string, name: string) => {
    const at = await requestReconcile(app, resource, name);
    return waitReady(resource, name, 90_000, (o) => o.status?.lastHandledReconcileAt === at);
  };
  /** A push, then `flux reconcile source git platform`: the Kustomizations of that source apply the new revision. */
  const push = async (message: string) => {
    const sha = await platformRepo.publish(message);
    await requestReconcile(app, 'gitrepository', 'platform');
    return sha;
  };
  /** Waits until the Kustomization has applied the revision and its health checks passed. */
  const appliedRevision = (kustomization: string, sha: string) =>
    waitReady(
      'kustomization',
      kustomization,
      90_000,
      (o) => o.status?.lastAppliedRevision === `main@sha1:${sha}`,
    );
  const stored = (name: string, namespace = 'shop') => controlPlaneName(name, namespace, clusterID);
  const storedClaim = (name: string) => getClaim(cp, targetNamespace, stored(name));
  /** Waits until Crossplane reports the claim (in the control plane) with the condition. */
  const crossplaneReports = (namespace: string, name: string, type: string, status: string, message = /.*/) =>
    waitFor(
      async () => {
        const claim = await getClaim(cp, namespace, name);
        const c = claim?.status?.conditions?.find((x) => x.type === type);
        if (c?.status === status && message.test(c.message ?? '')) return c;
        throw new Error(`${namespace}/${name}: ${JSON.stringify(claim?.status?.conditions)}`);
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `Crossplane to report ${type}=${status} on ${name}` },
    );
  // The claim's connection Secret, as the connector names it in the control plane.
  const blockingSecret = () => stored('shop-kubeconfig');

  beforeAll(async () => {
    const started = Date.now();
    env = await startEnvironment({ names: ['flux-app'], handleSignals: false });
    app = env.cluster('flux-app');
    git = await startGitServer({ dir: join(env.dir, 'git') });
    await installFluxCRDs(app, ['source-controller', 'kustomize-controller']);
    flux = await startFlux(app, {
      name: 'flux',
      dir: app.dir,
      pidFile: join(env.dir, pidFileName),
      controllers: ['source-controller', 'kustomize-controller'],
      // Flux looks at a dependency that is not Ready again after 30 s by default; the suite waits for each.
      requeueDependency: '2s',
    });
    // The connector's repository (what config/default and its CRDs need) and the platform team's.
    connectorRepo = await git.repo('ctp-connector');
    connectorRepo.copy(join(repoRoot, 'config'), 'config');
    connectorRepo.copy(join(repoRoot, 'crds'), 'crds');
    await connectorRepo.publish('ctp-connector');
    platformRepo = await git.repo('app-cluster');
    platformRepo.copy(join(repoRoot, 'config', 'gitops'), 'config/gitops');
    await platformRepo.publish('platform');
    [localProxyPort] = (await freePorts(1)) as [number];
    await kubectlOk(app, ['create', 'namespace', 'shop']); // the app team's namespace, not part of the claims
    timings['app cluster, Git server and Flux started'] = Date.now() - started;
  });

  afterAll(async () => {
    await proxy?.stop();
    await operator?.stop();
    await kubelet?.stop();
    await flux?.stop();
    await git?.stop();
    await env?.stop();
    await kubectl(cp, [
      'delete',
      'namespace',
      targetNamespace,
      'team-shop',
      '--ignore-not-found',
      '--wait=false',
    ]);
    reportTimings('GitOps with Flux', timings);
  });

  describe('bootstrap', () => {
    it('fetches both repositories into artifacts whose digest matches what it serves', async () => {
      const sources = atLoopback(readManifests('sources.yaml'), {
        'ctp-connector': connectorRepo.url,
        platform: platformRepo.url,
      });
      await kubectlOk(app, ['apply', '--server-side', '-f', '-'], asList(sources));
      for (const [name, repo] of [
        ['ctp-connector', connectorRepo],
        ['platform', platformRepo],
      ] as const) {
        const source = await waitReady('gitrepository', name);
        expect(source.status?.artifact?.revision).toBe(`main@sha1:${await repo.serverHead()}`);
        expect(source.status?.artifact?.url.startsWith(flux.artifactServer)).toBe(true);
      }
      expect(git.requests().some((r) => r.service === 'git-upload-pack' && r.method === 'POST')).toBe(true);
    });

    it('installs the connector from config/default and holds the connection until its Deployment is Available', async () => {
      const started = Date.now();
      await kubectlOk(app, ['apply', '--server-side', '-f', join(fluxDir, 'kustomizations.yaml')]);
      // Applied, but kstatus waits for the operator's Deployment, which has no running pod yet ...
      await waitFor(
        async () =>
          (await kubectl(app, ['-n', operatorNamespace, 'get', 'deployment', 'ctp-connector-operator']))
            .code === 0
            ? true
            : undefined,
        { timeoutMs: 60_000, what: 'the operator Deployment applied by Flux' },
      );
      const waiting = await waitCondition(
        'kustomization',
        'ctp-connector',
        (c) => c.status !== 'True',
        'health check running',
      );
      expect(ready(waiting)?.status).not.toBe('True');
      // ... and the connection's Kustomization waits for it.
      const blocked = await waitCondition(
        'kustomization',
        'connection',
        (c) => c.reason === 'DependencyNotReady',
        'waiting for its dependency',
      );
      expect(ready(blocked)?.message).toMatch(/ctp-connector/);
      expect((await kubectl(app, ['get', 'ctpc', connection])).code).not.toBe(0);

      // The credential, created by hand as docs/gitops.md says.
      const kubeconfig = join(app.dir, 'control-plane.kubeconfig');
      writeFileSync(kubeconfig, readFileSync(cp.kubeconfigPath));
      await kubectlOk(app, [
        '-n',
        operatorNamespace,
        'create',
        'secret',
        'generic',
        'control-plane',
        `--from-file=value=${kubeconfig}`,
      ]);
      // The scheduler's and kubelet's part: the operator, started in this process as the pods' container.
      kubelet = await standInKubelet(app, {
        namespace: operatorNamespace,
        selector: 'app.kubernetes.io/name=ctp-connector-operator',
        container: async () => {
          operator = await startTestOperator(app, localProxyPort);
        },
      });
      const installed = await waitReady('kustomization', 'ctp-connector');
      expect(installed.status?.lastAppliedRevision).toBe(`main@sha1:${await connectorRepo.serverHead()}`);
      const deployment = JSON.parse(
        await kubectlOk(app, [
          '-n',
          operatorNamespace,
          'get',
          'deployment',
          'ctp-connector-operator',
          '-o',
          'json',
        ]),
      ) as {
        metadata: { labels: Record<string, string> };
        status: { availableReplicas?: number; replicas: number };
      };
      expect(deployment.status.availableReplicas).toBe(deployment.status.replicas);
      expect(deployment.metadata.labels).toMatchObject({
        'kustomize.toolkit.fluxcd.io/name': 'ctp-connector',
        'kustomize.toolkit.fluxcd.io/namespace': fluxNamespace,
      });
      timings['connector Kustomization applied → Ready (kstatus on the Deployment)'] = Date.now() - started;
    });

    it('applies the connection once the connector is Ready, and is Ready itself once the connection is', async () => {
      const started = Date.now();
      await waitFor(
        async () => ((await kubectl(app, ['get', 'ctpc', connection])).code === 0 ? true : undefined),
        {
          timeoutMs: 60_000,
          what: 'the ControlPlaneConnection applied by Flux',
        },
      );
      // Nothing serves the claim API before the proxy runs: the claims' Kustomization waits on the connection's.
      const blocked = await waitCondition(
        'kustomization',
        'claims',
        (c) => c.reason === 'DependencyNotReady',
        'waiting for the connection',
      );
      expect(ready(blocked)?.message).toMatch(/connection/);
      clusterID = await waitFor(
        async () => {
          const r = await kubectl(app, ['get', 'ctpc', connection, '-o', 'jsonpath={.status.clusterID}']);
          return r.code === 0 && r.stdout ? r.stdout : undefined;
        },
        { timeoutMs: 60_000, what: "the connection's cluster ID" },
      );
      // A Secret Crossplane did not create, where the claim's connection Secret goes: Crossplane refuses to write
      // over it and reports the claim Synced=False, the failure the claims' health expressions must catch.
      await uncontrolledSecret(cp, targetNamespace, blockingSecret());
      proxy = await startProxyWhenServing(app, connection, localProxyPort); // where a real cluster runs its pods
      await waitReady('kustomization', 'connection');
      const ctpc = JSON.parse(await kubectlOk(app, ['get', 'ctpc', connection, '-o', 'json'])) as {
        status: { clusterID: string; conditions: Condition[] };
      };
      expect(ctpc.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      );
      expect(ctpc.status.clusterID).toBe(clusterID);
      timings['connection Kustomization → Ready (kstatus on the ControlPlaneConnection)'] =
        Date.now() - started;
    });

    it('applies the claims once the connection is Ready; their CEL health checks fail fast on Synced=False and pass on Ready=True', async () => {
      const started = Date.now();
      const inControlPlane = await waitFor(
        async () =>
          (await storedClaim('shop')) ??
          Promise.reject(new Error(JSON.stringify(ready(await get('kustomization', 'claims'))))),
        {
          timeoutMs: 90_000,
          what: 'the claim in the control plane',
        },
      );
      expect(inControlPlane.spec).toMatchObject({
        id: 'shop',
        parameters: { nodes: { count: 3, size: 'small' } },
      });
      // Crossplane composes the claim, then cannot write its connection Secret over the one it does not control.
      await crossplaneReports(targetNamespace, stored('shop'), 'Synced', 'False', /uncontrolled secret/);
      const failed = await waitCondition(
        'kustomization',
        'claims',
        (c) => c.reason === 'HealthCheckFailed',
        'failed health check',
      );
      expect(ready(failed)?.message).toMatch(/KubernetesCluster\/shop\/shop/);

      // The Secret removed, and the claim touched (through the app cluster) so Crossplane looks at it again now
      // rather than after its backoff: Crossplane propagates the connection details and reports the claim Ready.
      await kubectlOk(cp, ['-n', targetNamespace, 'delete', 'secret', blockingSecret()]);
      await kubectlOk(app, ['-n', 'shop', 'annotate', claimResource, 'shop', 'e2e.ctp.dev/nudge=1']);
      await crossplaneReports(targetNamespace, stored('shop'), 'Ready', 'True');
      const healthy = await reconcile('kustomization', 'claims');
      expect(healthy.status?.inventory?.entries.map((e) => e.id)).toEqual([
        'shop_shop_platform.example.org_KubernetesCluster',
      ]);
      timings['claims Kustomization → Ready (CEL health checks)'] = Date.now() - started;
    });
  });

  describe('day 2', () => {
    it('applies a change made in Git to the claim in the control plane', async () => {
      const file = join(claimsPath, 'kubernetescluster.yaml');
      const claim = load(readFileSync(join(platformRepo.workTree, file), 'utf8')) as Claim;
      (claim.spec.parameters as { nodes: { count: number } }).nodes.count = 5;
      platformRepo.write({ [file]: dump(claim) });
      await appliedRevision('claims', await push('shop: 5 nodes'));
      const changed = await storedClaim('shop');
      expect(changed?.spec).toMatchObject({ parameters: { nodes: { count: 5, size: 'small' } } });
    });

    it('reverts drift made with kubectl on its next reconciliation', async () => {
      await kubectlOk(app, [
        '-n',
        'shop',
        'patch',
        claimResource,
        'shop',
        '--type=merge',
        '-p',
        '{"spec":{"parameters":{"nodes":{"size":"large"}}}}',
      ]);
      expect((await storedClaim('shop'))?.spec).toMatchObject({ parameters: { nodes: { size: 'large' } } });
      await reconcile('kustomization', 'claims');
      expect((await storedClaim('shop'))?.spec).toMatchObject({
        parameters: { nodes: { count: 5, size: 'small' } },
      });
      expect((await getClaim(app, 'shop', 'shop'))?.spec).toMatchObject({
        parameters: { nodes: { size: 'small' } },
      });
    });

    it('writes nothing when it reconciles a claim that did not change (server-side dry run equals the live object)', async () => {
      const before = await getClaim(app, 'shop', 'shop');
      const beforeStored = await storedClaim('shop');
      // What Flux compares (labels, annotations, everything but metadata and status), before and after.
      const compared = (c: Claim | undefined) => ({
        labels: c?.metadata.labels,
        annotations: c?.metadata.annotations,
        spec: c?.spec,
      });
      // Flux's own drift check, by hand: a server-side dry run of what Git holds, with Flux's labels, returns the
      // object as a get does.
      const inGit = load(
        readFileSync(join(platformRepo.workTree, claimsPath, 'kubernetescluster.yaml'), 'utf8'),
      ) as Claim;
      inGit.metadata.labels = {
        ...inGit.metadata.labels,
        'kustomize.toolkit.fluxcd.io/name': 'claims',
        'kustomize.toolkit.fluxcd.io/namespace': fluxNamespace,
      };
      const dryRun = JSON.parse(
        await kubectlOk(
          app,
          [
            ...['apply', '--server-side', '--dry-run=server', '--force-conflicts'],
            ...['--field-manager=kustomize-controller', '-o', 'json', '-f', '-'],
          ],
          JSON.stringify(inGit),
        ),
      ) as Claim;
      expect(compared(dryRun)).toEqual(compared(before));
      expect(dryRun.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
      const logBefore = flux.log('kustomize-controller').length;
      await reconcile('kustomization', 'claims');
      // kustomize-controller logs the change set of every server-side apply; this one changed nothing.
      const applied = flux
        .log('kustomize-controller')
        .slice(logBefore)
        .split('\n')
        .filter((l) => l.includes('"name":"claims"') && l.includes('server-side apply completed'));
      expect(applied).toHaveLength(1);
      const after = await getClaim(app, 'shop', 'shop');
      expect(compared(after)).toEqual(compared(before));
      expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
      expect((await storedClaim('shop'))?.metadata.resourceVersion).toBe(
        beforeStored?.metadata.resourceVersion,
      );
      // kustomize-controller v1.9.6 reports this claim 'configured' since Crossplane runs in the control plane, though
      // the apply writes nothing (the resourceVersions above) and its dry run equals the live object (checked above):
      // an open finding (see docs/gitops.md), reported here rather than asserted.
      const output = (JSON.parse(applied[0]!) as { output?: Record<string, string> }).output;
      expect(Object.keys(output ?? {})).toEqual(['KubernetesCluster/shop/shop']);
      timings[`unchanged claim reconciled: Flux reports it ${output?.['KubernetesCluster/shop/shop']}`] = 0;
    });

    it('prunes a claim removed from Git from the app cluster and the control plane', async () => {
      const extra = load(readFileSync(join(repoRoot, claimsPath, 'kubernetescluster.yaml'), 'utf8')) as Claim;
      extra.metadata.name = 'cache';
      extra.spec.id = 'cache';
      delete extra.spec.writeConnectionSecretToRef;
      platformRepo.write({
        [join(claimsPath, 'cache.yaml')]: dump(extra),
        [join(claimsPath, 'kustomization.yaml')]: dump({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: ['kubernetescluster.yaml', 'cache.yaml'],
        }),
      });
      const added = await push('add cache');
      await waitFor(() => storedClaim('cache'), {
        timeoutMs: 60_000,
        what: 'the cache claim in the control plane',
      });
      await appliedRevision('claims', added); // Ready only once Crossplane made the new claim Ready
      expect((await storedClaim('cache'))?.status?.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      );

      platformRepo.remove(join(claimsPath, 'cache.yaml'));
      platformRepo.copy(
        join(repoRoot, claimsPath, 'kustomization.yaml'),
        join(claimsPath, 'kustomization.yaml'),
      );
      const after = await appliedRevision('claims', await push('remove cache'));
      expect(after.status?.inventory?.entries.map((e) => e.id)).toEqual([
        'shop_shop_platform.example.org_KubernetesCluster',
      ]);
      expect(await getClaim(app, 'shop', 'cache')).toBeUndefined();
      await waitFor(async () => ((await storedClaim('cache')) === undefined ? true : undefined), {
        timeoutMs: 60_000,
        what: 'the cache claim to be gone from the control plane',
      });
      expect(await storedClaim('shop')).toBeDefined();
    });
  });

  describe('straight at the control plane', () => {
    it('applies the claims into a control-plane namespace with the Secret `ctp-connector gitops-secret --for flux` prints', async () => {
      const started = Date.now();
      const secret = await ctpConnector([
        'gitops-secret',
        '--for',
        'flux',
        '--name',
        'control-plane',
        cp.kubeconfigPath,
      ]);
      expect(secret.code).toBe(0);
      await kubectlOk(app, ['apply', '-f', '-'], secret.stdout);
      await kubectlOk(cp, ['create', 'namespace', 'team-shop']);
      await kubectlOk(app, ['apply', '--server-side', '-f', join(fluxDir, 'remote.yaml')]);
      const claim = await waitFor(() => getClaim(cp, 'team-shop', 'shop'), {
        timeoutMs: 90_000,
        what: 'the claim in team-shop',
      });
      expect(claim.metadata.labels).toMatchObject({
        'kustomize.toolkit.fluxcd.io/name': 'control-plane-claims',
        'kustomize.toolkit.fluxcd.io/namespace': fluxNamespace,
      });
      await crossplaneReports('team-shop', 'shop', 'Ready', 'True');
      await reconcile('kustomization', 'control-plane-claims');
      timings['control-plane Kustomization → Ready'] = Date.now() - started;
    });

    it('prunes them from the control plane when its Kustomization is deleted', async () => {
      await kubectlOk(app, [
        '-n',
        fluxNamespace,
        'delete',
        'kustomization',
        'control-plane-claims',
        '--timeout=60s',
      ]);
      await waitFor(
        async () => ((await getClaim(cp, 'team-shop', 'shop')) === undefined ? true : undefined),
        {
          timeoutMs: 60_000,
          what: 'the claim to be gone from team-shop',
        },
      );
    });
  });

  describe('teardown', () => {
    it('deleting the connection Kustomization prunes the connection, whose finalizer hands the claims over (Migrate)', async () => {
      const started = Date.now();
      await kubectlOk(app, ['-n', fluxNamespace, 'delete', 'kustomization', 'connection', '--timeout=90s']);
      // Flux deletes in the background: the connection's finalizer runs after the Kustomization is gone.
      await waitFor(
        async () => ((await kubectl(app, ['get', 'ctpc', connection])).code !== 0 ? true : undefined),
        {
          timeoutMs: 90_000,
          what: 'the pruned connection to be finalized',
        },
      );
      const handedOver = await storedClaim('shop');
      expect(handedOver?.metadata.annotations).toMatchObject({
        'connect.ctp.dev/migrated-from-cluster': clusterID,
        'connect.ctp.dev/migrated-from-namespace': 'shop',
        'connect.ctp.dev/migrated-from-name': 'shop',
      });
      expect(Object.keys(handedOver?.metadata.labels ?? {})).not.toContain('connect.ctp.dev/cluster-id');
      timings['connection Kustomization deleted → claims handed over'] = Date.now() - started;
      await kubectl(cp, ['-n', targetNamespace, 'delete', claimResource, '--all', '--wait=false']);
    });
  });
});
