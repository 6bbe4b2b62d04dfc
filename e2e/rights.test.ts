// The rights table of docs/architecture.md is the truth about the connector's privileges in the app cluster: this
// compares each of its rows with what config/ grants, what the operator creates per connection (workload.ts,
// secretgrants.ts) and what the Helm chart grants, so that none of the three can drift from the documentation.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { parseSpec } from '../operator/src/api/connection.ts';
import { ownedNames } from '../operator/src/catalog/names.ts';
import { secretsRoleBinding } from '../operator/src/connection/secretgrants.ts';
import { desiredWorkload } from '../operator/src/connection/workload.ts';
import { binaryPath } from './harness/binaries.ts';
import { chartDir } from './harness/helm.ts';
import { parseManifests, type Manifest } from './harness/manifests.ts';
import { repoRoot } from './harness/paths.ts';

const run = promisify(execFile);

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}
type RBACObject = Manifest & {
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
};

const where = {
  cluster: 'cluster',
  operatorNamespace: 'operator namespace',
  kubeSystem: 'kube-system',
  appNamespaces: 'app namespaces with connection Secrets',
};
/** kube-apiserver's own Role, bound to every proxy in kube-system (not ours to ship, but ours to document). */
const authReaderRules: Rule[] = [
  {
    apiGroups: [''],
    resources: ['configmaps'],
    resourceNames: ['extension-apiserver-authentication'],
    verbs: ['get', 'list', 'watch'],
  },
];

const sorted = (values: readonly string[] = []) => [...values].sort().join(', ');
const row = (who: string, place: string, rule: Rule, only = sorted(rule.resourceNames)) =>
  [
    who,
    place,
    sorted((rule.apiGroups ?? []).map((g) => (g === '' ? 'core' : g))),
    sorted(rule.resources),
    sorted(rule.verbs),
    only,
  ].join(' | ');

/** The table's rows, normalized: names of the "only" column kept when in backticks, prose dropped. */
function documentedRows(): string[] {
  const doc = readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8');
  const start = doc.indexOf('<!-- rights:');
  expect(start).toBeGreaterThan(0);
  const lines = doc.slice(start).split('\n').slice(3);
  const rows: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('|')) break;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const [who, place, group, resources, verbs, only] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const names = [...only.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    rows.push(
      row(who, place, {
        apiGroups: group.split(', ').map((g) => (g === 'core' ? '' : g)),
        resources: resources.split(', '),
        verbs: verbs.split(', '),
        resourceNames: names,
      }),
    );
  }
  return rows.sort();
}

/**
 * Every right the RBAC objects give the operator and a connection's proxy: `shipped` are the manifests installed with
 * the operator, `perConnection` what the operator creates for a connection named `<connection>`.
 */
function grantedRows(shipped: RBACObject[], perConnection: RBACObject[], operatorSA: string): string[] {
  const all = [...shipped, ...perConnection];
  const roles = new Map(
    all
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .map((o) => [`${o.kind}/${o.metadata.name}`, o]),
  );
  const proxySA = ownedNames('<connection>').proxy;
  const rows: string[] = [];
  for (const binding of all.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    const rules =
      binding.roleRef?.name === 'extension-apiserver-authentication-reader'
        ? authReaderRules
        : (roles.get(`${binding.roleRef?.kind}/${binding.roleRef?.name}`)?.rules ?? []);
    const ns = binding.metadata.namespace;
    const place =
      binding.kind === 'ClusterRoleBinding'
        ? where.cluster
        : ns === 'ctp-system'
          ? where.operatorNamespace
          : ns === 'kube-system'
            ? where.kubeSystem
            : where.appNamespaces;
    for (const subject of binding.subjects ?? []) {
      const who =
        subject.name === operatorSA ? 'operator' : subject.name === proxySA ? 'proxy' : subject.name;
      for (const rule of rules) rows.push(row(who, place, rule));
    }
  }
  return rows.sort();
}

function configObjects(): RBACObject[] {
  const dir = join(repoRoot, 'config', 'rbac');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseManifests(readFileSync(join(dir, f), 'utf8')) as RBACObject[]);
}

function perConnectionObjects(operatorSA: string): RBACObject[] {
  const parsed = parseSpec({
    controlPlane: { kubeconfigSecretRef: { namespace: 'ctp-system', name: 'cp' } },
    targetNamespace: 'team-1',
  });
  if (!parsed.ok) throw new Error(parsed.message);
  const settings = {
    namespace: 'ctp-system',
    image: 'img',
    operatorSubject: { kind: 'ServiceAccount' as const, name: operatorSA, namespace: 'ctp-system' },
  };
  const names = ownedNames('<connection>');
  const input = { connection: '<connection>', owner: [], names, settings };
  return [
    ...desiredWorkload({ ...input, spec: parsed.spec }),
    secretsRoleBinding({ ...input, namespace: 'shop' }),
  ] as RBACObject[];
}

describe('the rights table of docs/architecture.md', () => {
  it('is exactly what config/ and the per-connection objects grant', () => {
    const granted = grantedRows(
      configObjects(),
      perConnectionObjects('ctp-connector-operator'),
      'ctp-connector-operator',
    );
    expect(documentedRows()).toEqual([...new Set(granted)].sort());
  });

  it('is exactly what the Helm chart and the per-connection objects grant', async () => {
    const home = mkdtempSync(join(tmpdir(), 'rights-helm-'));
    const { stdout } = await run(
      binaryPath('helm'),
      ['template', 'ctp-connector', chartDir, '--namespace', 'ctp-system'],
      { env: { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home } },
    );
    // The release "ctp-connector" names its objects as config/ does.
    const rendered = parseManifests(stdout) as RBACObject[];
    const granted = grantedRows(
      rendered,
      perConnectionObjects('ctp-connector-operator'),
      'ctp-connector-operator',
    );
    expect(documentedRows()).toEqual([...new Set(granted)].sort());
    // And the chart's admission policies are config/'s.
    const policies = (objs: RBACObject[]) =>
      objs
        .filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))
        .map((o) => JSON.stringify({ kind: o.kind, name: o.metadata.name, spec: o.spec }))
        .sort();
    expect(policies(rendered)).toEqual(policies(configObjects()));
  });
});
