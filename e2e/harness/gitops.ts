// What Flux and Argo CD do with the fixtures in e2e/fixtures/gitops, done with kubectl: build the units the tool's
// own objects describe (Flux: Kustomizations ordered by dependsOn; Argo CD: one Application ordered by sync
// waves), stamp the tool's tracking metadata on every object, apply with server-side apply under the tool's field
// manager, and wait for each unit to be healthy before the next, as the tool's health checks would.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { fixturesDir } from './fixtures.ts';
import { kubectl, kubectlOk, type KubectlResult, type KubectlTarget } from './kubectl.ts';
import { repoRoot } from './paths.ts';
import { waitFor } from './wait.ts';

export const gitopsDir = join(fixturesDir, 'gitops');

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface Unit {
  name: string;
  objects: Manifest[];
}

export interface GitOpsTool {
  name: string;
  /** The field manager the tool applies with. */
  fieldManager: string;
  /** The units of the repository, in the order the tool applies them. */
  units(): Promise<Unit[]>;
  /** The metadata the tool stamps on every object of `unit` to track it. */
  tracking(
    object: Manifest,
    unit: Unit,
  ): { labels?: Record<string, string>; annotations?: Record<string, string> };
}

export const trackingIdAnnotation = 'argocd.argoproj.io/tracking-id';
const fluxNameLabel = 'kustomize.toolkit.fluxcd.io/name';
const fluxNamespaceLabel = 'kustomize.toolkit.fluxcd.io/namespace';
const syncWaveAnnotation = 'argocd.argoproj.io/sync-wave';

function readObjects(file: string): Manifest[] {
  return (loadAll(readFileSync(file, 'utf8')) as Manifest[]).filter(Boolean);
}

/** `kustomize build` of a directory of the repository (what both tools run). */
async function render(target: KubectlTarget, path: string): Promise<Manifest[]> {
  const yaml = await kubectlOk(target, ['kustomize', join(repoRoot, path)]);
  return (loadAll(yaml) as Manifest[]).filter(Boolean);
}

/** Flux: one unit per Kustomization of flux/kustomizations.yaml, dependencies first. */
export function flux(target: KubectlTarget): GitOpsTool {
  type Kustomization = Manifest & { spec: { path: string; dependsOn?: { name: string }[] } };
  const kustomizations = readObjects(join(gitopsDir, 'flux', 'kustomizations.yaml')) as Kustomization[];
  const namespaceOf = new Map(kustomizations.map((k) => [k.metadata.name, k.metadata.namespace ?? '']));
  return {
    name: 'Flux',
    fieldManager: 'kustomize-controller',
    async units() {
      const ordered: Kustomization[] = [];
      const visit = (k: Kustomization, path: string[]) => {
        if (ordered.includes(k)) return;
        if (path.includes(k.metadata.name)) throw new Error(`dependency cycle: ${path.join(' → ')}`);
        for (const dep of k.spec.dependsOn ?? []) {
          const found = kustomizations.find((d) => d.metadata.name === dep.name);
          if (!found) throw new Error(`${k.metadata.name} depends on unknown ${dep.name}`);
          visit(found, [...path, k.metadata.name]);
        }
        ordered.push(k);
      };
      for (const k of kustomizations) visit(k, []);
      return Promise.all(
        ordered.map(async (k) => ({ name: k.metadata.name, objects: await render(target, k.spec.path) })),
      );
    },
    tracking: (_object, unit) => ({
      labels: { [fluxNameLabel]: unit.name, [fluxNamespaceLabel]: namespaceOf.get(unit.name) ?? '' },
    }),
  };
}

/** Argo CD: the Application of argocd/application.yaml, one unit per sync wave, lowest first. */
export function argoCD(target: KubectlTarget): GitOpsTool {
  const [application] = readObjects(join(gitopsDir, 'argocd', 'application.yaml')) as (Manifest & {
    spec: { source: { path: string } };
  })[];
  if (!application) throw new Error('argocd/application.yaml holds no Application');
  const wave = (o: Manifest) => Number(o.metadata.annotations?.[syncWaveAnnotation] ?? '0');
  return {
    name: 'Argo CD',
    fieldManager: 'argocd-controller',
    async units() {
      const objects = await render(target, application.spec.source.path);
      const waves = [...new Set(objects.map(wave))].sort((a, b) => a - b);
      return waves.map((w) => ({ name: `wave ${w}`, objects: objects.filter((o) => wave(o) === w) }));
    },
    tracking: (object) => {
      const [group] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : [''];
      const { namespace = '', name } = object.metadata;
      return {
        annotations: {
          [trackingIdAnnotation]: `${application.metadata.name}:${group}/${object.kind}:${namespace}/${name}`,
        },
      };
    },
  };
}

/** The unit's objects as the tool sends them: with its tracking metadata. */
export function tracked(tool: GitOpsTool, unit: Unit): Manifest[] {
  return unit.objects.map((object) => {
    const { labels, annotations } = tool.tracking(object, unit);
    const metadata = { ...object.metadata };
    // Only maps with content: an applied empty map makes every later apply of a custom resource a write.
    if (labels) metadata.labels = { ...metadata.labels, ...labels };
    if (annotations) metadata.annotations = { ...metadata.annotations, ...annotations };
    return { ...object, metadata };
  });
}

const asList = (objects: Manifest[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });

/** Server-side apply of a unit under the tool's field manager; returns kubectl's output. */
export function applyUnit(target: KubectlTarget, tool: GitOpsTool, unit: Unit): Promise<string> {
  return kubectlOk(
    target,
    ['apply', '--server-side', `--field-manager=${tool.fieldManager}`, '-f', '-'],
    asList(tracked(tool, unit)),
  );
}

/** `kubectl diff --server-side` of a unit: exit code 0 means no drift, 1 a difference. */
export function diffUnit(target: KubectlTarget, tool: GitOpsTool, unit: Unit): Promise<KubectlResult> {
  return kubectl(
    target,
    ['diff', '--server-side', `--field-manager=${tool.fieldManager}`, '-f', '-'],
    asList(tracked(tool, unit)),
  );
}

export interface Live extends Manifest {
  metadata: Manifest['metadata'] & {
    generation?: number;
    resourceVersion?: string;
    managedFields?: { manager: string; operation: string; time?: string; fieldsV1?: unknown }[];
  };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason?: string }[] };
}

/** The objects as they are in the cluster now, in the same order (`kubectl get -f`). */
export async function liveObjects(target: KubectlTarget, objects: Manifest[]): Promise<Live[]> {
  const got = JSON.parse(
    await kubectlOk(target, ['get', '--show-managed-fields', '-f', '-', '-o', 'json'], asList(objects)),
  ) as Live & {
    items?: Live[];
  };
  return got.items ?? [got];
}

/**
 * Health as kstatus (Flux's wait) and Argo CD's health checks see it: Failed when Stalled; Current once the current
 * generation is observed and Ready=True, wherever the object reports a Ready condition or is expected to (claims,
 * through the health checks of the fixtures). Objects without status, like Secrets and Namespaces, are Current once
 * they exist.
 */
export function health(live: Live, needsReady: boolean): 'Current' | 'InProgress' | 'Failed' {
  const status = live.status;
  const condition = (type: string) => status?.conditions?.find((c) => c.type === type)?.status;
  if (condition('Stalled') === 'True') return 'Failed';
  if (status?.observedGeneration !== undefined && status.observedGeneration !== live.metadata.generation)
    return 'InProgress';
  if (needsReady || status?.conditions?.some((c) => c.type === 'Ready'))
    return condition('Ready') === 'True' ? 'Current' : 'InProgress';
  return 'Current';
}

/** Waits until every object of the unit is Current; resolves with how long that took, throws when one Failed. */
export async function waitHealthy(
  target: KubectlTarget,
  unit: Unit,
  needsReady: (object: Manifest) => boolean,
): Promise<number> {
  const started = Date.now();
  for (const object of unit.objects) {
    const what = `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const live = await waitFor(
      async () => {
        const [obj] = (await liveObjects(target, [object])) as [Live];
        if (health(obj, needsReady(object)) !== 'InProgress') return obj;
        throw new Error(
          `in progress: generation ${obj.metadata.generation}, status ${JSON.stringify(obj.status)}`,
        );
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `${unit.name}: ${what} to be healthy` },
    );
    if (health(live, needsReady(object)) === 'Failed')
      throw new Error(`${unit.name}: ${what} failed: ${JSON.stringify(live.status?.conditions)}`);
  }
  return Date.now() - started;
}
