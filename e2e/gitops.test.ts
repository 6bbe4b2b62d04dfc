// The GitOps examples (config/gitops, docs/gitops.md) validated: by the API servers (dry run) where the kinds exist
// here, by schemas of the fields we use for Argo CD's and Flux's own kinds. Argo CD and Flux themselves apply them,
// run the Lua health checks and evaluate the health expressions in e2e/gitops-argocd.test.ts and
// e2e/gitops-flux.test.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadAll } from 'js-yaml';
import { z } from 'zod';
import { prepareConnector } from './harness/connector.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { repoRoot } from './harness/paths.ts';
import { sharedCluster } from './harness/shared.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const gitops = join(repoRoot, 'config', 'gitops');
const dryRunNamespace = 'gitops-manifests';
const connectionHealth = join(gitops, 'argocd', 'health-controlplaneconnection.lua');
const claimHealth = join(gitops, 'argocd', 'health-claim.lua');

function documents(file: string): Record<string, unknown>[] {
  return loadAll(readFileSync(file, 'utf8')) as Record<string, unknown>[];
}

async function kustomize(path: string): Promise<string> {
  return kubectlOk(app, ['kustomize', join(repoRoot, path)]);
}

describe('GitOps example manifests', () => {
  beforeAll(async () => {
    await prepareConnector(app, readFileSync(cp.kubeconfigPath, 'utf8'));
  });

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

  it('the workloads apply (server dry run): the connection to the app cluster, its claims and the direct claims to the control plane', async () => {
    // The claims' API is served in an app cluster only through a Ready connection (the Argo CD and Flux suites apply
    // them there); its schema is the control plane's, which a dry run into a control-plane namespace checks.
    const objects = loadAll(await kustomize('config/gitops/workloads')) as {
      kind: string;
      metadata: { name: string; namespace?: string };
    }[];
    const connections = objects.filter((o) => o.kind === 'ControlPlaneConnection');
    const claims = objects.filter((o) => o.kind !== 'ControlPlaneConnection');
    expect(claims.map((o) => o.kind)).toEqual(['KubernetesCluster']);
    const asList = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    const applied = await kubectlOk(app, ['apply', '--dry-run=server', '-f', '-'], asList(connections));
    expect(applied.trim()).toBe('controlplaneconnection.connect.ctp.dev/platform created (server dry run)');

    // A namespace of this suite's own: the GitOps suites use the manifests' team-shop and delete it when done.
    await kubectl(cp, ['create', 'namespace', dryRunNamespace]);
    const into = (objects: { metadata: { namespace?: string } }[]) =>
      asList(objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: dryRunNamespace } })));
    const claimed = await kubectlOk(cp, ['apply', '--dry-run=server', '-f', '-'], into(claims));
    expect(claimed.trim()).toBe('kubernetescluster.platform.example.org/shop created (server dry run)');
    const direct = loadAll(await kustomize('config/gitops/control-plane')) as typeof claims;
    expect(direct.map((o) => o.metadata.namespace)).toEqual(['team-shop']);
    const directApplied = await kubectlOk(cp, ['apply', '--dry-run=server', '-f', '-'], into(direct));
    expect(directApplied.trim()).toBe('kubernetescluster.platform.example.org/shop created (server dry run)');
  });

  afterAll(async () => {
    await kubectl(cp, ['delete', 'namespace', dryRunNamespace, '--wait=false']);
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
          .array(z.enum(['ServerSideApply=true', 'SkipDryRunOnMissingResource=true', 'CreateNamespace=true']))
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
    for (const path of new Set(paths)) expect([path, existsSync(join(repoRoot, path))]).toEqual([path, true]);
  });
});
