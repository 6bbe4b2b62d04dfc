import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { controlPlaneName } from '../claims/identity.ts';
import { fromControlPlane } from '../proxy/translate.ts';
import { executePlan } from './import.ts';
import { controlPlaneCopy, exportedSecret, handedOverMetadata } from './importcopy.ts';
import {
  controlPlaneKey,
  importedFromAnnotation,
  importToAnnotation,
  isOurCopy,
  isReady,
  pausedAnnotation,
  planImport,
  type ImportObserved,
  type LocalAPI,
  type LocalEntry,
  type Obj,
} from './importplan.ts';

const clusterID = 'cluster-1';
const target = 'team-a';
const scope = { clusterID, targetNamespace: target };
const claimAPI: LocalAPI = {
  group: 'platform.example.org',
  version: 'v1alpha1',
  kind: 'KubernetesCluster',
  plural: 'kubernetesclusters',
  role: 'claim',
  xrd: 'xkubernetesclusters.platform.example.org',
};
const xrAPI: LocalAPI = {
  group: 'data.example.org',
  version: 'v1beta1',
  kind: 'Database',
  plural: 'databases',
  role: 'xr',
  xrd: 'databases.data.example.org',
};
const conditions = (ready: string, synced: string, syncedReason = 'ReconcileSuccess') => [
  { type: 'Ready', status: ready, reason: ready === 'True' ? 'Available' : 'Creating' },
  { type: 'Synced', status: synced, reason: synced === 'True' ? syncedReason : 'ReconcileError' },
];

function entry(
  api: LocalAPI,
  name: string,
  options: { ready?: boolean; pausedByImport?: boolean; secret?: boolean; namespace?: string } = {},
): LocalEntry {
  const namespace = options.namespace ?? 'shop';
  const paused = options.pausedByImport;
  const annotations = {
    'crossplane.io/external-name': `ext-${name}`,
    ...(paused
      ? {
          [pausedAnnotation]: 'true',
          [importToAnnotation]: `${target}/${controlPlaneName(name, namespace, clusterID)}`,
        }
      : {}),
  };
  const status = {
    conditions: paused
      ? [
          { type: 'Ready', status: 'True' },
          { type: 'Synced', status: 'False', reason: 'ReconcilePaused' },
        ]
      : conditions(options.ready === false ? 'False' : 'True', options.ready === false ? 'False' : 'True'),
  };
  const object: Obj = {
    apiVersion: `${api.group}/${api.version}`,
    kind: api.kind,
    metadata: {
      name,
      namespace,
      uid: `uid-${api.kind}-${namespace}-${name}`,
      annotations,
      finalizers: ['finalizer.apiextensions.crossplane.io'],
    },
    spec:
      api.role === 'claim'
        ? {
            id: name,
            compositionRef: { name: 'xkubernetesclusters.platform.example.org' },
            resourceRef: {
              apiVersion: 'platform.example.org/v1alpha1',
              kind: 'XKubernetesCluster',
              name: `${name}-x`,
            },
            ...(options.secret ? { writeConnectionSecretToRef: { name: `${name}-kubeconfig` } } : {}),
          }
        : {
            engine: 'postgres',
            crossplane: {
              compositionRef: { name: 'databases.data.example.org' },
              resourceRefs: [{ apiVersion: 'v1', kind: 'ConfigMap', name: `${name}-abcde` }],
            },
          },
    status,
  };
  const xr: Obj | undefined =
    api.role === 'claim'
      ? {
          apiVersion: object.apiVersion,
          kind: 'XKubernetesCluster',
          metadata: { name: `${name}-x`, uid: `uid-xr-${name}`, annotations: paused ? annotations : {} },
          status,
        }
      : undefined;
  return {
    api,
    object,
    ...(xr ? { xr, xrPlural: 'xkubernetesclusters' } : {}),
    composed: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: `${name}-abcde`,
        namespace,
        uid: `c-${name}`,
        released: false,
      },
    ],
    ...(options.secret
      ? {
          secret: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: `${name}-kubeconfig`, namespace, uid: `s-${name}` },
            type: 'connection.crossplane.io/v1alpha1',
            data: { kubeconfig: 'a3ViZWNvbmZpZw==' },
          },
        }
      : {}),
  };
}

function observed(
  entries: LocalEntry[],
  controlPlane: Partial<ImportObserved['controlPlane']> = {},
): ImportObserved {
  return {
    connection: {
      name: 'team-a',
      clusterID,
      targetNamespace: target,
      apis: [
        { group: claimAPI.group, version: claimAPI.version, kinds: [claimAPI.kind] },
        { group: xrAPI.group, version: xrAPI.version, kinds: [xrAPI.kind] },
      ],
    },
    xrds: [
      {
        name: claimAPI.xrd,
        group: claimAPI.group,
        version: claimAPI.version,
        kind: 'XKubernetesCluster',
        plural: 'xkubernetesclusters',
        claim: { kind: claimAPI.kind, plural: claimAPI.plural },
        scope: 'LegacyCluster',
        marked: false,
      },
      {
        name: xrAPI.xrd,
        group: xrAPI.group,
        version: xrAPI.version,
        kind: xrAPI.kind,
        plural: xrAPI.plural,
        scope: 'Namespaced',
        marked: false,
      },
    ],
    crds: [
      { name: 'kubernetesclusters.platform.example.org', group: claimAPI.group, xrd: claimAPI.xrd },
      { name: 'xkubernetesclusters.platform.example.org', group: claimAPI.group, xrd: claimAPI.xrd },
      { name: 'databases.data.example.org', group: xrAPI.group, xrd: xrAPI.xrd },
    ],
    entries,
    unmovable: [],
    controlPlane: {
      objects: {},
      secrets: {},
      imported: [],
      compositions: ['xkubernetesclusters.platform.example.org', 'databases.data.example.org'],
      ...controlPlane,
    },
    served: {},
  };
}

/** The copy the import would create, as the control plane stores it (Ready or not). */
function storedCopy(e: LocalEntry, ready: boolean): Obj {
  const copy = controlPlaneCopy(e, scope);
  return {
    ...copy,
    metadata: { ...copy.metadata, uid: `cp-${e.object.metadata.uid}` },
    status: { conditions: conditions(ready ? 'True' : 'False', 'True') },
  };
}

describe('import plan', () => {
  it('moves a Ready claim and XR through every step, and hands both groups over', () => {
    const plan = planImport(
      observed([entry(claimAPI, 'cluster-1', { secret: true }), entry(xrAPI, 'orders')]),
    );
    expect(plan.objects.map((o) => [o.name, o.state, o.controlPlaneName, o.steps])).toEqual([
      [
        'cluster-1',
        'move',
        controlPlaneName('cluster-1', 'shop', clusterID),
        [
          'pause',
          'await-paused',
          'export-secret',
          'create',
          'hand-over-secret',
          'await-ready',
          'release-composed',
          'orphan-xr',
          'delete-local',
        ],
      ],
      [
        'orders',
        'move',
        controlPlaneName('orders', 'shop', clusterID),
        ['pause', 'await-paused', 'create', 'await-ready', 'release-composed', 'delete-local'],
      ],
    ]);
    expect(plan.groups).toEqual([
      {
        group: 'data.example.org',
        xrds: [xrAPI.xrd],
        state: 'hand-over',
        reasons: [],
        steps: ['mark-xrds', 'remove-xrds', 'await-served', 'verify-served'],
      },
      {
        group: 'platform.example.org',
        xrds: [claimAPI.xrd],
        state: 'hand-over',
        reasons: [],
        steps: ['mark-xrds', 'remove-xrds', 'await-served', 'verify-served'],
      },
    ]);
  });

  it('refuses what it cannot move safely, with a precise reason, and keeps its group local', () => {
    const notReady = entry(claimAPI, 'broken', { ready: false });
    const collides = entry(xrAPI, 'payments');
    const taken = {
      ...storedCopy(collides, true),
      metadata: { name: controlPlaneName('payments', 'shop', clusterID), namespace: target, uid: 'other' },
    };
    const fine = entry(claimAPI, 'cluster-1');
    const plan = planImport(
      observed([notReady, collides, fine], {
        objects: { [controlPlaneKey(xrAPI, taken.metadata.name)]: taken },
      }),
    );
    const reasons = Object.fromEntries(plan.objects.map((o) => [o.name, o.reasons]));
    expect(reasons.broken).toEqual([
      'the claim is not Ready (Ready=False Creating)',
      'the claim is not Synced (Synced=False ReconcileError)',
    ]);
    expect(reasons.payments).toEqual([
      `name collision: ${target}/${taken.metadata.name} in the control plane is another object (uid other)`,
    ]);
    expect(reasons['cluster-1']).toEqual([
      'group platform.example.org cannot be handed to the connection: KubernetesCluster shop/broken is refused',
    ]);
    expect(plan.groups.map((g) => [g.group, g.state, g.reasons])).toEqual([
      ['data.example.org', 'refused', ['Database shop/payments is refused']],
      ['platform.example.org', 'refused', ['KubernetesCluster shop/broken is refused']],
    ]);
  });

  it('refuses an API the connection does not serve, a missing Composition, user-paused objects and a connection that is not Ready', () => {
    const paused = entry(claimAPI, 'held');
    paused.object.metadata.annotations = { [pausedAnnotation]: 'true' };
    const o = observed([paused, entry(xrAPI, 'orders')], { compositions: [] });
    o.connection.apis = o.connection.apis.filter((a) => a.group !== xrAPI.group);
    const plan = planImport(o);
    expect(plan.objects[0]!.reasons).toEqual([
      'the claim is paused (crossplane.io/paused) by someone else: import moves only what local Crossplane reconciles',
      'its Composition xkubernetesclusters.platform.example.org does not exist in the control plane',
    ]);
    expect(plan.objects[1]!.reasons).toEqual([
      'the connection does not serve Database.data.example.org/v1beta1 (the control plane has no such XRD, or spec.apis leaves it out)',
      'its Composition databases.data.example.org does not exist in the control plane',
    ]);
    const down = observed([entry(xrAPI, 'orders')]);
    down.connection.problem = 'it is not Ready (Stalled Unauthorized: the token was rejected)';
    expect(planImport(down).objects[0]!.reasons).toEqual([
      'the connection cannot take objects: it is not Ready (Stalled Unauthorized: the token was rejected)',
    ]);
  });

  it('keeps a group local while it holds an XR without claim or a CRD that is not an XRD', () => {
    const o = observed([entry(claimAPI, 'cluster-1')]);
    o.unmovable.push({
      api: { ...claimAPI, kind: 'XKubernetesCluster', role: 'xr' },
      name: 'lonely',
      reason: 'an XR no claim is bound to',
    });
    o.crds.push({ name: 'other.data.example.org', group: xrAPI.group });
    const plan = planImport(o);
    expect(plan.groups.map((g) => g.reasons)).toEqual([
      [
        "CRD other.data.example.org of this group is not a local Crossplane XRD's: its APIService stays local",
      ],
      ['XKubernetesCluster lonely stays local: an XR no claim is bound to'],
    ]);
    expect(plan.objects[0]!.state).toBe('refused');
  });

  it('continues where an earlier run stopped: paused and copied, the copy Ready', () => {
    const e = entry(claimAPI, 'cluster-1', { pausedByImport: true, secret: true });
    e.secret!.metadata.labels = { 'connect.ctp.dev/delivered-by': 'team-a' };
    const copy = storedCopy(e, true);
    const cpSecret = exportedSecret(e, scope, 'cluster-1-kubeconfig');
    const plan = planImport(
      observed([e], {
        objects: { [controlPlaneKey(claimAPI, copy.metadata.name)]: copy },
        secrets: { [cpSecret.metadata.name]: cpSecret },
      }),
    );
    expect(plan.objects[0]!.steps).toEqual(['release-composed', 'orphan-xr', 'delete-local']);
  });

  it('reports objects moved by an earlier run from their copies', () => {
    const e = entry(xrAPI, 'orders');
    const plan = planImport({
      ...observed([], { imported: [{ api: xrAPI, object: storedCopy(e, true) }] }),
      xrds: [],
      crds: [],
      served: { [xrAPI.group]: true },
    });
    expect(plan.objects.map((o) => [o.name, o.namespace, o.state, o.uid])).toEqual([
      ['orders', 'shop', 'moved', e.object.metadata.uid],
    ]);
    expect(plan.groups).toEqual([
      { group: xrAPI.group, xrds: [], state: 'served', reasons: [], steps: ['verify-served'] },
    ]);
  });
});

describe('import copies', () => {
  it('is what the proxy would store: the connector name, origin, external name and composition refs kept, local refs and the pause gone', () => {
    const e = entry(claimAPI, 'cluster-1', { pausedByImport: true, secret: true });
    const copy = controlPlaneCopy(e, scope);
    expect(copy.metadata.name).toBe(controlPlaneName('cluster-1', 'shop', clusterID));
    expect(copy.metadata.namespace).toBe(target);
    expect(copy.metadata.annotations).toMatchObject({
      'crossplane.io/external-name': 'ext-cluster-1',
      [importedFromAnnotation]: e.object.metadata.uid,
    });
    expect(copy.metadata.annotations?.[pausedAnnotation]).toBeUndefined();
    expect(copy.metadata.annotations?.[importToAnnotation]).toBeUndefined();
    expect(copy.metadata.finalizers).toBeUndefined();
    expect(copy.metadata.uid).toBeUndefined();
    expect(copy.status).toBeUndefined();
    expect(copy.spec).toEqual({
      id: 'cluster-1',
      compositionRef: { name: 'xkubernetesclusters.platform.example.org' },
      writeConnectionSecretToRef: { name: controlPlaneName('cluster-1-kubeconfig', 'shop', clusterID) },
    });
    // Read back through the proxy's translation it is the local object under its own name.
    const back = fromControlPlane(copy, scope)!;
    expect(back.metadata).toMatchObject({ name: 'cluster-1', namespace: 'shop' });
    expect((back.spec as { writeConnectionSecretToRef: unknown }).writeConnectionSecretToRef).toEqual({
      name: 'cluster-1-kubeconfig',
    });
    const xr = controlPlaneCopy(entry(xrAPI, 'orders'), scope);
    expect(xr.spec).toEqual({
      engine: 'postgres',
      crossplane: { compositionRef: { name: 'databases.data.example.org' } },
    });
    expect(JSON.parse(xr.metadata.annotations!['connect.ctp.dev/imported-composed']!)).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'orders-abcde', uid: 'c-orders' },
    ]);
  });

  it('exports the connection Secret where Crossplane writes the copy, and hands the local one to the proxy', () => {
    const e = entry(claimAPI, 'cluster-1', { secret: true });
    expect(exportedSecret(e, scope, 'cluster-1-kubeconfig')).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: controlPlaneName('cluster-1-kubeconfig', 'shop', clusterID),
        namespace: target,
        annotations: { [importedFromAnnotation]: e.object.metadata.uid },
      },
      type: 'connection.crossplane.io/v1alpha1',
      data: { kubeconfig: 'a3ViZWNvbmZpZw==' },
    });
    expect(handedOverMetadata(e, 'team-a').labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'ctp-connector',
      'connect.ctp.dev/delivered-by': 'team-a',
    });
  });
});

// Any mix of local objects and control-plane states.
const objectState = fc.record({
  role: fc.constantFrom<'claim' | 'xr'>('claim', 'xr'),
  name: fc.constantFrom('a', 'b', 'c', 'd'),
  namespace: fc.constantFrom('shop', 'web'),
  ready: fc.boolean(),
  pausedByImport: fc.boolean(),
  secret: fc.boolean(),
  copy: fc.constantFrom('none', 'ours-ready', 'ours-pending', 'foreign', 'this-cluster-other'),
  exported: fc.boolean(),
  released: fc.boolean(),
});
const world = fc
  .uniqueArray(objectState, { selector: (s) => `${s.role}/${s.namespace}/${s.name}`, maxLength: 8 })
  .map((states) => {
    const entries: LocalEntry[] = [];
    const objects: Record<string, Obj> = {};
    const secrets: Record<string, Obj> = {};
    for (const s of states) {
      const api = s.role === 'claim' ? claimAPI : xrAPI;
      const e = entry(api, s.name, {
        ready: s.ready,
        pausedByImport: s.pausedByImport,
        secret: s.secret && s.role === 'claim',
        namespace: s.namespace,
      });
      e.composed = e.composed.map((c) => ({ ...c, released: s.released }));
      entries.push(e);
      const name = controlPlaneName(s.name, s.namespace, clusterID);
      const key = controlPlaneKey(api, name);
      if (s.copy === 'ours-ready' || s.copy === 'ours-pending')
        objects[key] = storedCopy(e, s.copy === 'ours-ready');
      if (s.copy === 'foreign')
        objects[key] = {
          apiVersion: e.object.apiVersion,
          kind: api.kind,
          metadata: { name, namespace: target, uid: 'x' },
        };
      if (s.copy === 'this-cluster-other') {
        const copy = storedCopy(e, true);
        copy.metadata.annotations = { ...copy.metadata.annotations, [importedFromAnnotation]: 'another-uid' };
        objects[key] = copy;
      }
      if (e.secret && s.exported) {
        const secret = exportedSecret(e, scope, e.secret.metadata.name);
        secrets[secret.metadata.name] = secret;
      }
    }
    return observed(entries, { objects, secrets });
  });

describe('import plan properties', () => {
  it('never plans to delete a local object before its control-plane copy exists and is verified Ready', () => {
    fc.assert(
      fc.property(world, (o) => {
        for (const p of planImport(o).objects) {
          if (p.state !== 'move') {
            expect(p.steps).toEqual([]);
            continue;
          }
          const e = o.entries.find((x) => x.object.metadata.uid === p.uid)!;
          const copy = o.controlPlane.objects[controlPlaneKey(p, p.controlPlaneName)];
          const readyAt = p.steps.indexOf('await-ready');
          if (readyAt === -1) {
            expect(copy && isOurCopy(copy, e, scope) && isReady(copy)).toBe(true);
          }
          if (!p.steps.includes('create')) expect(copy && isOurCopy(copy, e, scope)).toBe(true);
          else expect(p.steps.indexOf('create')).toBeLessThan(readyAt);
          for (const destructive of ['release-composed', 'orphan-xr', 'delete-local'] as const) {
            const at = p.steps.indexOf(destructive);
            if (at !== -1) expect(at).toBeGreaterThan(readyAt);
          }
          // Paused, and the pause seen, before anything is copied.
          const pausedAt = p.steps.indexOf('await-paused');
          for (const later of ['export-secret', 'create'] as const)
            if (p.steps.includes(later) && pausedAt !== -1)
              expect(p.steps.indexOf(later)).toBeGreaterThan(pausedAt);
          expect(p.steps[p.steps.length - 1]).toBe('delete-local');
        }
      }),
    );
  });

  it('never plans two objects to one name, nor onto a name another object holds', () => {
    fc.assert(
      fc.property(world, (o) => {
        const moving = planImport(o).objects.filter((p) => p.state === 'move');
        const keys = moving.map((p) => controlPlaneKey(p, p.controlPlaneName));
        expect(new Set(keys).size).toBe(keys.length);
        for (const p of moving) {
          const held = o.controlPlane.objects[controlPlaneKey(p, p.controlPlaneName)];
          const e = o.entries.find((x) => x.object.metadata.uid === p.uid)!;
          if (held) expect(isOurCopy(held, e, scope)).toBe(true);
        }
      }),
    );
  });

  it('refuses with reasons and moves without any; a group is handed over only when all of it moves', () => {
    fc.assert(
      fc.property(world, (o) => {
        const plan = planImport(o);
        for (const p of plan.objects) expect(p.state === 'refused').toBe(p.reasons.length > 0);
        for (const g of plan.groups) {
          const inGroup = plan.objects.filter((p) => p.group === g.group);
          if (g.state === 'hand-over') expect(inGroup.every((p) => p.state !== 'refused')).toBe(true);
          else expect(inGroup.every((p) => p.state !== 'move')).toBe(true);
        }
      }),
    );
  });

  it('a dry run calls no action', async () => {
    await fc.assert(
      fc.asyncProperty(world, async (o) => {
        const calls: string[] = [];
        const record = (what: string) => () => {
          calls.push(what);
          return Promise.resolve();
        };
        const result = await executePlan(
          planImport(o),
          o.entries,
          { object: record('object'), group: record('group'), say: () => {} },
          true,
        );
        expect(calls).toEqual([]);
        expect(result.objects.every((r) => r.outcome !== 'moved' || r.state === 'moved')).toBe(true);
      }),
    );
  });

  it("pauses every object of a group before anything else of its objects, and keeps each object's step order", async () => {
    await fc.assert(
      fc.asyncProperty(world, async (o) => {
        const plan = planImport(o);
        const calls: { group: string; uid?: string; step: string }[] = [];
        await executePlan(
          plan,
          o.entries,
          {
            object: (p, _e, step) => {
              calls.push({ group: p.group, uid: p.uid, step });
              return Promise.resolve();
            },
            group: (g, step) => {
              calls.push({ group: g.group, step });
              return Promise.resolve();
            },
            say: () => {},
          },
          false,
        );
        for (const p of plan.objects.filter(
          (x) => x.state === 'move' && plan.groups.some((g) => g.group === x.group && g.state !== 'refused'),
        )) {
          expect(calls.filter((c) => c.uid === p.uid).map((c) => c.step)).toEqual(p.steps);
        }
        for (const g of plan.groups) {
          const objectSteps = calls.filter((c) => c.group === g.group && c.uid !== undefined);
          const lastPause = objectSteps.map((c) => c.step).lastIndexOf('pause');
          const firstOther = objectSteps.findIndex((c) => c.step !== 'pause');
          if (lastPause !== -1 && firstOther !== -1) expect(lastPause).toBeLessThan(firstOther);
        }
      }),
    );
  });
});
