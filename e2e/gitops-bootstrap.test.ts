// Journey: bootstrapping an app cluster with GitOps. The repository in e2e/fixtures/gitops holds the connection
// (with its credential Secret) in one unit and the claims in a second that depends on it; Flux and Argo CD apply it
// with server-side apply under their own field managers, unit by unit, waiting for health in between. The claims
// converge, a second apply and a server-side diff find no drift, and the tools' tracking metadata stays on what they
// applied and never shows up on what the connector generates.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import { connectionLabel } from '../operator/src/connection/names.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';
import { claimResource, listClaims, type Claim } from './harness/claims.ts';
import { startProxyWhenServing } from './harness/connect.ts';
import { operatorNamespace, prepareConnector, startTestOperator } from './harness/connector.ts';
import {
  applyUnit,
  argoCD,
  diffUnit,
  flux,
  liveObjects,
  trackingIdAnnotation,
  tracked,
  waitHealthy,
  type GitOpsTool,
  type Live,
  type Manifest,
  type Unit,
} from './harness/gitops.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './harness/kubectl.ts';
import { freePorts } from './harness/ports.ts';
import { sharedCluster, sharedCrossplane } from './harness/shared.ts';
import { reportTimings, type Timings } from './harness/timings.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const connection = 'platform';
const target = 'team-gitops';
const isClaim = (o: Manifest) => o.kind === 'KubernetesCluster';

/** The credential Secret a secret manager (SOPS, Sealed Secrets, ...) would deliver with the connection's unit. */
function credentialSecret(): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'platform-kubeconfig', namespace: operatorNamespace },
    data: { value: readFileSync(cp.kubeconfigPath).toString('base64') },
  };
}

/** The tracking metadata keys of either tool found on an object. */
function trackingKeys(obj: Pick<Manifest, 'metadata'>): string[] {
  return [
    ...Object.keys(obj.metadata.labels ?? {}).filter((k) => k.startsWith('kustomize.toolkit.fluxcd.io/')),
    ...Object.keys(obj.metadata.annotations ?? {}).filter((k) => k === trackingIdAnnotation),
  ];
}

async function getJSON<T>(cluster: KubectlTarget, args: string[]): Promise<T | undefined> {
  const r = await kubectl(cluster, ['get', ...args, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
}

/**
 * Stands in for Crossplane where it does not run: once the claims are stored in the control plane, reports them Synced and Ready and
 * writes the connection Secret a claim asks for, under the name the claim has in the control plane.
 */
async function actAsCrossplane(claims: Manifest[], clusterID: string): Promise<void> {
  if (sharedCrossplane()) return; // the real one composes them
  for (const claim of claims) {
    const name = controlPlaneName(claim.metadata.name, claim.metadata.namespace!, clusterID);
    const stored = await waitFor(() => getJSON<Claim>(cp, [claimResource, '-n', target, name]), {
      timeoutMs: 30_000,
      what: `claim ${name} in the control plane`,
    });
    const lastTransitionTime = new Date().toISOString();
    const conditions = ['Synced', 'Ready'].map((type) => ({
      type,
      status: 'True',
      reason: 'Available',
      lastTransitionTime,
    }));
    const patch = JSON.stringify({ status: { conditions } });
    await kubectlOk(cp, [
      'patch',
      claimResource,
      '-n',
      target,
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      patch,
    ]);
    const secret = stored.spec.writeConnectionSecretToRef?.name;
    if (secret)
      await kubectlOk(cp, ['-n', target, 'create', 'secret', 'generic', secret, '--from-literal=k=v']);
  }
}

describe('GitOps bootstrap: the connection first, the claims once it is Ready', () => {
  const timings: Timings = {};
  let operator: RunningOperator | undefined;
  let port: number;

  beforeAll(async () => {
    await prepareConnector(app, readFileSync(cp.kubeconfigPath, 'utf8'));
    [port] = (await freePorts(1)) as [number];
    operator = await startTestOperator(app, port);
  });

  afterAll(async () => {
    await operator?.stop();
    reportTimings('GitOps bootstrap', timings);
  });

  describe.each([
    { name: 'Flux', toolFor: flux, order: ['ctp-connection', 'ctp-claims'] },
    { name: 'Argo CD', toolFor: argoCD, order: ['wave 0', 'wave 1'] },
  ])('$name', ({ toolFor, order }) => {
    const tool: GitOpsTool = toolFor(app);
    let units: Unit[] = [];
    let proxy: RunningProxy | undefined;
    let before: Live[] = [];
    const objects = () => units.flatMap((u) => u.objects);

    /**
     * Pruning what left the repository: the claims' unit first, then the connection's, one object after the other,
     * last applied first. The order matters: a credential Secret deleted before the connection's finalizer has
     * run holds the connection (Ready=False, CredentialsNotFound) until the Secret is back.
     */
    const prune = async () => {
      try {
        for (const object of objects().reverse()) {
          const manifest = JSON.stringify(object);
          await kubectlOk(app, ['delete', '-f', '-', '--ignore-not-found', '--timeout=60s'], manifest);
        }
      } finally {
        await proxy?.stop();
        proxy = undefined;
        await kubectl(cp, ['delete', 'secrets', '-n', target, '--all']); // Crossplane's part
      }
    };

    afterAll(async () => {
      if (proxy) await prune(); // only after a failure
    });

    it('holds the connection and the claims in two units, the claims after the connection', async () => {
      units = await tool.units();
      expect(units.map((u) => u.name)).toEqual(order);
      const [first, second] = units as [Unit, Unit];
      expect(first.objects.map((o) => o.kind)).toEqual(['ControlPlaneConnection']);
      expect(second.objects.map((o) => `${o.kind} ${o.metadata.name}`).sort()).toEqual([
        'KubernetesCluster db',
        'KubernetesCluster web',
        'Namespace shop',
      ]);
      first.objects.unshift(credentialSecret());
    });

    it('applies unit by unit, waiting for health in between, and the claims converge', async () => {
      const [first, second] = units as [Unit, Unit];
      let started = Date.now();
      expect(await applyUnit(app, tool, first)).toBe(
        'secret/platform-kubeconfig serverside-applied\n' +
          `controlplaneconnection.connect.ctp.dev/${connection} serverside-applied\n`,
      );
      proxy = await startProxyWhenServing(app, connection, port); // where a real cluster starts the proxy's pods
      await waitHealthy(app, first, () => false);
      timings[`${tool.name}: connection unit applied → healthy`] = Date.now() - started;
      const clusterID = await kubectlOk(app, [
        'get',
        'ctpc',
        connection,
        '-o',
        'jsonpath={.status.clusterID}',
      ]);

      started = Date.now();
      expect((await applyUnit(app, tool, second)).trim().split('\n').sort()).toEqual([
        'kubernetescluster.platform.example.org/db serverside-applied',
        'kubernetescluster.platform.example.org/web serverside-applied',
        'namespace/shop serverside-applied',
      ]);
      await actAsCrossplane(second.objects.filter(isClaim), clusterID);
      await waitHealthy(app, second, isClaim); // the claims' health checks: Ready, through the proxy
      timings[`${tool.name}: claims unit applied → healthy`] = Date.now() - started;
      const stored = await listClaims(cp, target);
      expect(
        stored.map((c) => `${c.metadata.labels?.['connect.ctp.dev/app-namespace']}/${c.spec.id}`).sort(),
      ).toEqual(['shop/shop-db', 'shop/shop-web']);
    });

    it('keeps its tracking metadata through the round trip, on the claims and the connection', async () => {
      const expected = units.flatMap((u) => tracked(tool, u));
      before = await liveObjects(app, objects());
      expect(before.map((o) => o.metadata.name)).toEqual(expected.map((o) => o.metadata.name));
      before.forEach((obj, i) => {
        expect(obj.metadata.labels ?? {}).toMatchObject(expected[i]!.metadata.labels ?? {});
        expect(obj.metadata.annotations ?? {}).toMatchObject(expected[i]!.metadata.annotations ?? {});
        expect(trackingKeys(obj)).not.toEqual([]);
      });
      // The stored claims keep it too.
      for (const claim of await listClaims(cp, target)) {
        const appName = claim.metadata.annotations?.['connect.ctp.dev/app-name'];
        const sent = expected.find((o) => isClaim(o) && o.metadata.name === appName)!;
        expect(claim.metadata.annotations ?? {}).toMatchObject(sent.metadata.annotations ?? {});
        expect(claim.metadata.labels ?? {}).toMatchObject(sent.metadata.labels ?? {});
      }
    });

    it('finds its tracking metadata on nothing the connector generates', async () => {
      // Its Secrets, catalog, workload, RBAC and APIServices in the app cluster ...
      const generated = await getJSON<{ items: Live[] }>(app, [
        'secrets,configmaps,deployments,services,serviceaccounts,roles,rolebindings,clusterrolebindings,apiservices',
        '-A',
        '-l',
        `${connectionLabel}=${connection}`,
      ]);
      const secrets = generated?.items.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
      expect(secrets?.sort()).toEqual(['ctpc-platform-serving', 'ctpc-platform-token']);
      // ... the claim's connection Secret it delivers into the app namespace ...
      const delivered = await waitFor(() => getJSON<Live>(app, ['-n', 'shop', 'secret', 'db-kubeconfig']), {
        timeoutMs: 30_000,
        what: "the db claim's connection Secret in the app namespace",
      });
      // ... and its scoped identity in the control plane.
      const scoped = await getJSON<{ items: Live[] }>(cp, [
        'serviceaccounts,roles,rolebindings',
        '-n',
        target,
        '-l',
        'app.kubernetes.io/managed-by=ctp-connector',
      ]);
      expect(scoped?.items).toHaveLength(3);
      const all = [...(generated?.items ?? []), delivered, ...(scoped?.items ?? [])];
      expect(all.map((o) => `${o.kind} ${o.metadata.name}: ${trackingKeys(o).join(',')}`)).toEqual(
        all.map((o) => `${o.kind} ${o.metadata.name}: `),
      );
    });

    it('finds no drift: a second apply changes nothing and a server-side diff is empty', async () => {
      const started = Date.now();
      for (const unit of units) await applyUnit(app, tool, unit);
      // The tool's own record of each object is untouched, and so is every object, except that the connection's
      // status is the operator's to update at any time.
      const unchanged = (objs: Live[]) =>
        objs.map((o) => ({
          name: o.metadata.name,
          generation: o.metadata.generation,
          resourceVersion:
            o.kind === 'ControlPlaneConnection' || (isClaim(o) && sharedCrossplane())
              ? 'status may change'
              : o.metadata.resourceVersion,
          labels: o.metadata.labels,
          annotations: o.metadata.annotations,
          applied: o.metadata.managedFields?.filter((f) => f.manager === tool.fieldManager),
        }));
      expect(unchanged(before).filter((o) => o.applied?.length !== 1)).toEqual([]);
      expect(unchanged(await liveObjects(app, objects()))).toEqual(unchanged(before));
      for (const unit of units) {
        const diff = await diffUnit(app, tool, unit);
        expect({ unit: unit.name, code: diff.code, diff: diff.stdout, stderr: diff.stderr }).toEqual({
          unit: unit.name,
          code: 0,
          diff: '',
          stderr: '',
        });
      }
      timings[`${tool.name}: second apply and server-side diff`] = Date.now() - started;
    });

    it('prunes the claims, then the connection', async () => {
      await prune();
      expect(await listClaims(cp, target)).toEqual([]);
      expect(await getJSON(app, ['ctpc', connection])).toBeUndefined();
    });
  });
});
