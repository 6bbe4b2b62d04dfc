// The GitOps examples (config/gitops, docs/gitops.md): the Argo CD Lua health checks executed against real
// ControlPlaneConnections and real claims — statuses as the operator and Crossplane write them, read back through
// the app cluster — and the example manifests validated: by the API servers (dry run) where the kinds exist here,
// by schemas of the fields we use where they do not (Argo CD's and Flux's own CRDs are not installed).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadAll } from 'js-yaml';
import { z } from 'zod';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';
import { startProxyWhenServing } from './harness/connector-cli.ts';
import {
  connectionManifest,
  credentialSecret,
  operatorNamespace,
  prepareConnector,
  startTestOperator,
} from './harness/connector.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './harness/kubectl.ts';
import { runHealthScript } from './harness/lua.ts';
import { repoRoot } from './harness/paths.ts';
import { freePorts } from './harness/ports.ts';
import { sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const gitops = join(repoRoot, 'config', 'gitops');
const connectionHealth = join(gitops, 'argocd', 'health-controlplaneconnection.lua');
const claimHealth = join(gitops, 'argocd', 'health-claim.lua');
const target = 'team-gitops';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}
interface Obj {
  metadata: { name: string; generation?: number; deletionTimestamp?: string };
  status?: { conditions?: Condition[]; clusterID?: string };
}

async function get(cluster: KubectlTarget, args: string[]): Promise<Obj> {
  return JSON.parse(await kubectlOk(cluster, ['get', ...args, '-o', 'json'])) as Obj;
}

/** The connection once `match` holds for it. */
function connectionWhen(name: string, match: (o: Obj) => boolean, what: string): Promise<Obj> {
  return waitFor(
    async () => {
      const o = await get(app, ['ctpc', name]);
      return match(o) ? o : undefined;
    },
    { timeoutMs: 90_000, what: `${name}: ${what}` },
  );
}

/** A connection through the kubeconfig in Secret ctp-system/<secret>. */
function applyConnection(name: string, secret: string, targetNamespace: string, extra: object = {}) {
  return kubectlOk(
    app,
    ['apply', '-f', '-'],
    connectionManifest(name, {
      controlPlane: { kubeconfigSecretRef: { namespace: operatorNamespace, name: secret } },
      targetNamespace,
      ...extra,
    }),
  );
}

const hasCondition = (o: Obj, type: string, status: string) =>
  o.status?.conditions?.some((c) => c.type === type && c.status === status) ?? false;

function documents(file: string): Record<string, unknown>[] {
  return loadAll(readFileSync(file, 'utf8')) as Record<string, unknown>[];
}

async function kustomize(path: string): Promise<string> {
  return kubectlOk(app, ['kustomize', join(repoRoot, path)]);
}

describe('GitOps: Argo CD health checks and example manifests', () => {
  let operator: RunningOperator | undefined;
  let proxy: RunningProxy | undefined;
  let port: number;
  const startOperator = async () => {
    operator = await startTestOperator(app, port);
  };
  const stopOperator = async () => {
    await operator?.stop();
    operator = undefined;
  };

  beforeAll(async () => {
    await prepareConnector(app, readFileSync(cp.kubeconfigPath, 'utf8'));
    [port] = (await freePorts(1)) as [number];
  });

  afterAll(async () => {
    if (!operator) await startOperator();
    for (const name of ['gitops', 'gitops-stalled', 'gitops-retrying'])
      await kubectl(app, ['delete', 'ctpc', name, '--ignore-not-found', '--timeout=60s']);
    await proxy?.stop();
    await stopOperator();
  });

  describe('health-controlplaneconnection.lua', () => {
    it('is Progressing before the operator has looked, and Healthy once the connection is Ready', async () => {
      // Created while no operator runs: the object as Argo CD first sees it, without status.
      await applyConnection('gitops', 'control-plane', target, { deletionPolicy: 'Delete' });
      const fresh = await get(app, ['ctpc', 'gitops']);
      expect(fresh.status).toBeUndefined();
      expect(runHealthScript(connectionHealth, fresh)).toEqual({
        status: 'Progressing',
        message: 'Waiting for the operator to reconcile the connection',
      });

      await startOperator();
      proxy = await startProxyWhenServing(app, 'gitops', port);
      const ready = await connectionWhen('gitops', (o) => hasCondition(o, 'Ready', 'True'), 'Ready');
      const readyCondition = ready.status!.conditions!.find((c) => c.type === 'Ready')!;
      expect(readyCondition.message).toMatch(/^serving \d+ claim API group\/versions from https:/);
      expect(runHealthScript(connectionHealth, ready)).toEqual({
        status: 'Healthy',
        message: readyCondition.message,
      });
    }, 180_000);

    it('is Degraded when the connection is stalled, Progressing while the operator retries', async () => {
      await credentialSecret(app, 'gitops-garbage', 'this is not a kubeconfig');
      await applyConnection('gitops-stalled', 'gitops-garbage', 'team-gitops-stalled');
      const stalled = await connectionWhen(
        'gitops-stalled',
        (o) => hasCondition(o, 'Stalled', 'True'),
        'Stalled',
      );
      const health = runHealthScript(connectionHealth, stalled);
      expect(health.status).toBe('Degraded');
      expect(health.message).toMatch(/^InvalidKubeconfig: Secret ctp-system\/gitops-garbage key "value": /);

      await applyConnection('gitops-retrying', 'gitops-missing', 'team-gitops-retrying');
      const retrying = await connectionWhen(
        'gitops-retrying',
        (o) => hasCondition(o, 'Reconciling', 'True'),
        'Reconciling',
      );
      expect(hasCondition(retrying, 'Stalled', 'True')).toBe(false);
      expect(runHealthScript(connectionHealth, retrying)).toEqual({
        status: 'Progressing',
        message: 'CredentialsNotFound: Secret ctp-system/gitops-missing not found',
      });
    }, 180_000);

    it('is Progressing while a new generation is unobserved and while the connection is being deleted', async () => {
      // With the operator stopped, the API server's view stays as it is long enough to look at it.
      await stopOperator();
      await kubectlOk(app, [
        'patch',
        'ctpc',
        'gitops-stalled',
        '--type=merge',
        '-p',
        '{"spec":{"deletionPolicy":"Detach"}}',
      ]);
      const changed = await get(app, ['ctpc', 'gitops-stalled']);
      expect(changed.metadata.generation).toBe(2);
      expect(runHealthScript(connectionHealth, changed)).toEqual({
        status: 'Progressing',
        message: 'Waiting for the operator to observe generation 2',
      });

      await kubectlOk(app, ['delete', 'ctpc', 'gitops-retrying', '--wait=false']);
      const deleting = await get(app, ['ctpc', 'gitops-retrying']);
      expect(deleting.metadata.deletionTimestamp).toBeDefined();
      expect(runHealthScript(connectionHealth, deleting)).toEqual({
        status: 'Progressing',
        message: 'Being deleted: CredentialsNotFound: Secret ctp-system/gitops-missing not found',
      });

      await startOperator();
      await waitFor(
        async () => ((await kubectl(app, ['get', 'ctpc', 'gitops-retrying'])).code === 0 ? undefined : true),
        {
          timeoutMs: 60_000,
          what: 'the operator to finalize gitops-retrying',
        },
      );
    }, 180_000);
  });

  describe('health-claim.lua', () => {
    let mapped: string;
    /** The claim as its create answered: before Crossplane wrote anything. */
    let fresh: Obj;
    /** Where Crossplane runs: the claim once it made it Ready. */
    let readyByCrossplane: Obj | undefined;

    /**
     * The claim through the app cluster with the conditions Crossplane would write. Where Crossplane runs it owns the
     * status (even a paused claim gets its Synced condition rewritten on every change), so they are set on the claim
     * as read; where not, they are written in the control plane and read back through the app cluster.
     */
    async function crossplaneWrites(conditions: Condition[]): Promise<Obj> {
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      if (cp.crossplane) {
        const claim = await get(app, ['-n', 'shop', 'kubernetescluster', 'shop']);
        const observedGeneration = claim.metadata.generation;
        return {
          ...claim,
          status: {
            conditions: conditions.map((c) => ({ lastTransitionTime: now, observedGeneration, ...c })),
          },
        };
      }
      // Crossplane writes the generation it observed: the stored one (Crossplane's own writes bump it too).
      const observedGeneration = Number(
        await kubectlOk(cp, [
          '-n',
          target,
          'get',
          'kubernetescluster',
          mapped,
          '-o',
          'jsonpath={.metadata.generation}',
        ]),
      );
      const status = {
        conditions: conditions.map((c) => ({ lastTransitionTime: now, observedGeneration, ...c })),
      };
      await kubectlOk(cp, [
        '-n',
        target,
        'patch',
        'kubernetescluster',
        mapped,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      ]);
      const want = JSON.stringify(conditions.map((c) => [c.type, c.status, c.reason]));
      return waitFor(
        async () => {
          const claim = await get(app, ['-n', 'shop', 'kubernetescluster', 'shop']);
          const seen = JSON.stringify(
            (claim.status?.conditions ?? []).map((c) => [c.type, c.status, c.reason]),
          );
          return seen === want ? claim : undefined;
        },
        { timeoutMs: 30_000, what: 'the claim status through the app cluster' },
      );
    }

    beforeAll(async () => {
      // The example claim itself, applied through the app cluster.
      await kubectl(app, ['create', 'namespace', 'shop']);
      fresh = await waitFor(
        async () => {
          const r = await kubectl(app, ['apply', '-k', join(gitops, 'workloads', 'claims'), '-o', 'json']);
          return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
        },
        { timeoutMs: 90_000, what: 'kubectl apply -k config/gitops/workloads/claims' },
      );
      const clusterID = (await get(app, ['ctpc', 'gitops'])).status!.clusterID!;
      mapped = controlPlaneName('shop', 'shop', clusterID);
      if (cp.crossplane) {
        // Crossplane composes the example for real.
        const wait = ['wait', '--for=condition=Ready', '--timeout=60s', 'kubernetescluster/shop'];
        await kubectlOk(app, ['-n', 'shop', ...wait]);
        readyByCrossplane = await get(app, ['-n', 'shop', 'kubernetescluster', 'shop']);
      }
    }, 120_000);

    it('is Progressing while Crossplane has written nothing or Ready is not True', async () => {
      expect(fresh.status?.conditions).toBeUndefined();
      expect(runHealthScript(claimHealth, fresh)).toEqual({
        status: 'Progressing',
        message: 'Waiting for the control plane to provision the claim',
      });
      const creating = await crossplaneWrites([
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
        {
          type: 'Ready',
          status: 'False',
          reason: 'Creating',
          message: 'Unready resources: cluster',
        },
      ]);
      expect(runHealthScript(claimHealth, creating)).toEqual({
        status: 'Progressing',
        message: 'Creating: Unready resources: cluster',
      });
    });

    it('is Healthy when Ready=True, Degraded when Synced=False', async () => {
      if (readyByCrossplane)
        expect(runHealthScript(claimHealth, readyByCrossplane)).toEqual({
          status: 'Healthy',
          message: 'Available',
        });
      const available = await crossplaneWrites([
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
        { type: 'Ready', status: 'True', reason: 'Available' },
      ]);
      expect(runHealthScript(claimHealth, available)).toEqual({ status: 'Healthy', message: 'Available' });

      const failing = await crossplaneWrites([
        {
          type: 'Synced',
          status: 'False',
          reason: 'ReconcileError',
          message: 'cannot compose resources: cannot apply composed resource "cluster"',
        },
        { type: 'Ready', status: 'True', reason: 'Available' },
      ]);
      expect(runHealthScript(claimHealth, failing)).toEqual({
        status: 'Degraded',
        message: 'ReconcileError: cannot compose resources: cannot apply composed resource "cluster"',
      });
    });

    it('is Progressing when the conditions are about an older generation', async () => {
      const observed = await crossplaneWrites([
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
        { type: 'Ready', status: 'True', reason: 'Available' },
      ]);
      // A spec change through the app cluster; Crossplane has not looked at it yet.
      await kubectlOk(app, [
        '-n',
        'shop',
        'patch',
        'kubernetescluster',
        'shop',
        '--type=merge',
        '-p',
        '{"spec":{"parameters":{"nodes":{"count":5}}}}',
      ]);
      const next = observed.metadata.generation! + 1;
      const changed = await waitFor(
        async () => {
          const claim = await get(app, ['-n', 'shop', 'kubernetescluster', 'shop']);
          return claim.metadata.generation === next ? claim : undefined;
        },
        { timeoutMs: 30_000, what: `generation ${next} through the app cluster` },
      );
      // Where Crossplane runs it may have observed the change already: the conditions about the older one are set.
      const seen = cp.crossplane ? { ...changed, status: observed.status } : changed;
      expect(runHealthScript(claimHealth, seen)).toEqual({
        status: 'Progressing',
        message: `Waiting for the control plane to observe generation ${next}`,
      });
    });
  });

  describe('example manifests', () => {
    it('argocd-cm carries exactly the tested Lua files, for the kinds the examples use, and the API server accepts it', async () => {
      const rendered = await kustomize('config/gitops/argocd');
      const [cm] = loadAll(rendered) as { kind: string; data: Record<string, string> }[];
      expect(cm?.kind).toBe('ConfigMap');
      expect(cm!.data).toEqual({
        'application.resourceTrackingMethod': 'annotation',
        'resource.customizations.health.connect.ctp.dev_ControlPlaneConnection': readFileSync(
          connectionHealth,
          'utf8',
        ),
        'resource.customizations.health.platform.example.org_KubernetesCluster': readFileSync(
          claimHealth,
          'utf8',
        ),
      });
      // Every kind in the workloads has its health check.
      const kinds = (
        loadAll(await kustomize('config/gitops/workloads')) as { apiVersion: string; kind: string }[]
      ).map((o) => `resource.customizations.health.${o.apiVersion.split('/')[0]}_${o.kind}`);
      for (const key of kinds) expect(Object.keys(cm!.data)).toContain(key);
      await kubectl(app, ['create', 'namespace', 'argocd']);
      await kubectlOk(app, ['apply', '--dry-run=server', '-f', '-'], rendered);
    });

    it('the workloads apply to the app cluster, and the direct claims to the control plane (server dry run)', async () => {
      const workloads = await kustomize('config/gitops/workloads');
      const applied = await kubectlOk(app, ['apply', '--dry-run=server', '-f', '-'], workloads);
      expect(applied).toContain('controlplaneconnection.connect.ctp.dev/platform created (server dry run)');
      expect(applied).toMatch(
        /kubernetescluster\.platform\.example\.org\/shop (configured|unchanged) \(server dry run\)/,
      );

      await kubectl(cp, ['create', 'namespace', 'team-shop']);
      const direct = await kubectlOk(
        cp,
        ['apply', '--dry-run=server', '-f', '-'],
        await kustomize('config/gitops/control-plane'),
      );
      expect(direct.trim()).toBe('kubernetescluster.platform.example.org/shop created (server dry run)');
    });

    const duration = z.string().regex(/^(\d+(ms|s|m|h))+$/);
    const repoPath = z
      .string()
      .refine((p) => existsSync(join(repoRoot, p)), { message: 'no such directory in this repository' });
    const syncWave = z.object({ 'argocd.argoproj.io/sync-wave': z.string().regex(/^-?\d+$/) });
    const applicationSchema = z.strictObject({
      apiVersion: z.literal('argoproj.io/v1alpha1'),
      kind: z.literal('Application'),
      metadata: z.strictObject({
        name: z.string(),
        namespace: z.literal('argocd'),
        annotations: syncWave.optional(),
      }),
      spec: z.strictObject({
        project: z.string(),
        source: z.strictObject({ repoURL: z.url(), targetRevision: z.string(), path: repoPath }),
        destination: z.union([
          z.strictObject({ server: z.url(), namespace: z.string().optional() }),
          z.strictObject({ name: z.string(), namespace: z.string().optional() }),
        ]),
        syncPolicy: z.strictObject({
          automated: z
            .strictObject({ prune: z.boolean().optional(), selfHeal: z.boolean().optional() })
            .optional(),
          syncOptions: z
            .array(
              z.enum(['ServerSideApply=true', 'SkipDryRunOnMissingResource=true', 'CreateNamespace=true']),
            )
            .optional(),
          retry: z
            .strictObject({
              limit: z.number().int(),
              backoff: z.strictObject({ duration, factor: z.number().int(), maxDuration: duration }),
            })
            .optional(),
        }),
      }),
    });
    const gitRepositorySchema = z.strictObject({
      apiVersion: z.literal('source.toolkit.fluxcd.io/v1'),
      kind: z.literal('GitRepository'),
      metadata: z.strictObject({ name: z.string(), namespace: z.literal('flux-system') }),
      spec: z.strictObject({ interval: duration, url: z.url(), ref: z.strictObject({ branch: z.string() }) }),
    });
    const kustomizationSchema = z.strictObject({
      apiVersion: z.literal('kustomize.toolkit.fluxcd.io/v1'),
      kind: z.literal('Kustomization'),
      metadata: z.strictObject({ name: z.string(), namespace: z.literal('flux-system') }),
      spec: z.strictObject({
        dependsOn: z.array(z.strictObject({ name: z.string() })).optional(),
        interval: duration,
        retryInterval: duration.optional(),
        sourceRef: z.strictObject({ kind: z.literal('GitRepository'), name: z.string() }),
        path: z.string().regex(/^\.\//).pipe(repoPath),
        targetNamespace: z.string().optional(),
        kubeConfig: z.strictObject({ secretRef: z.strictObject({ name: z.string() }) }).optional(),
        prune: z.boolean(),
        wait: z.boolean(),
        timeout: duration,
        healthCheckExprs: z
          .array(
            z.strictObject({
              apiVersion: z.string(),
              kind: z.string(),
              current: z.string(),
              failed: z.string().optional(),
              inProgress: z.string().optional(),
            }),
          )
          .optional(),
      }),
    });

    it('the Argo CD Applications use the fields and sync options Argo CD knows, and paths that render', async () => {
      const applications = documents(join(gitops, 'argocd', 'applications.yaml')).map((a) =>
        applicationSchema.parse(a),
      );
      expect(applications.map((a) => a.metadata.name)).toEqual([
        'ctp-connector',
        'platform',
        'control-plane-claims',
      ]);
      for (const a of applications) await kustomize(a.spec.source.path);
      // The connector goes first; the claims of the connector Application wait for the connection's wave.
      expect(applications[0]!.metadata.annotations?.['argocd.argoproj.io/sync-wave']).toBe('-1');
      const direct = applications[2]!.spec.destination;
      expect(direct).toEqual({ name: 'control-plane', namespace: 'team-shop' });
    });

    it('the Flux Kustomizations chain connector → connection → claims, reference their sources and render', async () => {
      const flux = join(gitops, 'flux');
      const all = readdirSync(flux).flatMap((f) => documents(join(flux, f)));
      const sources = all.filter((d) => d.kind === 'GitRepository').map((d) => gitRepositorySchema.parse(d));
      const kustomizations = all
        .filter((d) => d.kind === 'Kustomization')
        .map((d) => kustomizationSchema.parse(d));
      expect(sources.length + kustomizations.length).toBe(all.length);
      const names = new Set(kustomizations.map((k) => k.metadata.name));
      for (const k of kustomizations) {
        expect(sources.map((s) => s.metadata.name)).toContain(k.spec.sourceRef.name);
        for (const d of k.spec.dependsOn ?? []) expect(names).toContain(d.name);
        const kinds = (loadAll(await kustomize(k.spec.path)) as { apiVersion: string; kind: string }[]).map(
          (o) => `${o.apiVersion}/${o.kind}`,
        );
        // Every claim kind applied has a CEL health check (claims carry no status.observedGeneration for kstatus).
        for (const kind of kinds.filter((x) => x.startsWith('platform.example.org/')))
          expect(k.spec.healthCheckExprs?.map((e) => `${e.apiVersion}/${e.kind}`)).toContain(kind);
      }
      const byName = Object.fromEntries(kustomizations.map((k) => [k.metadata.name, k]));
      expect(byName.connection?.spec.dependsOn).toEqual([{ name: 'ctp-connector' }]);
      expect(byName.claims?.spec.dependsOn).toEqual([{ name: 'connection' }]);
      expect(byName.connection?.spec.wait).toBe(true);
      expect(byName['control-plane-claims']?.spec.kubeConfig).toEqual({
        secretRef: { name: 'control-plane' },
      });
    });

    it('docs/gitops.md names only files that exist', () => {
      const doc = readFileSync(join(repoRoot, 'docs', 'gitops.md'), 'utf8');
      const paths = [...doc.matchAll(/\b(config\/gitops\/[\w./-]+[\w/])/g)].map((m) => m[1]!);
      expect(paths.length).toBeGreaterThan(5);
      for (const path of new Set(paths))
        expect([path, existsSync(join(repoRoot, path))]).toEqual([path, true]);
    });
  });
});
