// Least privilege in the app cluster, tried the way an attacker would: a connection that names someone else's Secret
// or image, a proxy ServiceAccount looking for Secret rights, a proxy token writing over a user's Secret, an operator
// token touching what it did not create. Every identity acts with exactly the rights config/ and the operator give it
// (kubectl --as, as the harness runs the operator and the proxy).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ownedNames } from '../operator/src/catalog/names.ts';
import { applyClaims, claimManifest, writeConnectionSecret } from './harness/claims.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import {
  connectionManifest,
  operatorNamespace,
  operatorServiceAccount,
  prepareConnector,
  proxyServiceAccount,
} from './harness/connector.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const target = 'team-lp';
const shop = 'lp-shop';
const quiet = 'lp-quiet';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}

async function readyCondition(name: string): Promise<Condition | undefined> {
  const r = await kubectl(app, ['get', 'ctpc', name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const conditions = (JSON.parse(r.stdout) as { status?: { conditions?: Condition[] } }).status?.conditions;
  return conditions?.find((c) => c.type === 'Ready');
}

const exists = async (args: string[]) => (await kubectl(app, ['get', ...args, '-o', 'name'])).code === 0;
const canI = async (user: string, args: string[]) =>
  (await kubectl(app, ['auth', 'can-i', ...args, `--as=${user}`])).stdout.trim();

describe('least privilege in the app cluster', () => {
  let connection: ProxiedConnection;
  const proxySA = proxyServiceAccount('lp');

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    connection = await connectWithProxy(app, 'lp', { targetNamespace: target, deletionPolicy: 'Delete' });
    for (const ns of [shop, quiet, 'lp-elsewhere']) await kubectl(app, ['create', 'namespace', ns]);
  });

  afterAll(async () => {
    for (const name of ['lp-foreign-secret', 'lp-token-thief', 'lp-evil-image'])
      await kubectl(app, ['delete', 'ctpc', name, '--ignore-not-found', '--timeout=60s']);
    await connection?.stop();
  });

  it.each([
    [
      'lp-foreign-secret',
      async () => {
        // The same, working kubeconfig, only in another namespace: refused all the same.
        const encoded = await kubectlOk(app, [
          '-n',
          operatorNamespace,
          'get',
          'secret',
          'control-plane',
          '-o',
          'jsonpath={.data.value}',
        ]);
        const kubeconfig = Buffer.from(encoded, 'base64').toString();
        await kubectlOk(app, [
          '-n',
          'lp-elsewhere',
          'create',
          'secret',
          'generic',
          'cp',
          `--from-literal=value=${kubeconfig}`,
        ]);
        return { controlPlane: { kubeconfigSecretRef: { namespace: 'lp-elsewhere', name: 'cp' } } };
      },
      "spec.controlPlane.kubeconfigSecretRef names Secret lp-elsewhere/cp: credential Secrets must be in the operator's namespace ctp-system",
    ],
    [
      'lp-token-thief',
      // Another connection's scoped token, to be sent to a server of the spec's choosing.
      () =>
        Promise.resolve({
          controlPlane: {
            server: 'https://127.0.0.1:1',
            tokenSecretRef: { namespace: operatorNamespace, name: ownedNames('lp').token, key: 'token' },
          },
        }),
      `Secret ctp-system/${ownedNames('lp').token} belongs to connection lp: name a credential Secret you created`,
    ],
    [
      'lp-evil-image',
      () =>
        Promise.resolve({
          controlPlane: { kubeconfigSecretRef: { namespace: operatorNamespace, name: 'control-plane' } },
          proxy: { image: 'registry.invalid/evil:1' },
        }),
      'spec.proxy.image registry.invalid/evil:1 is not allowed by the operator',
    ],
  ])(
    'refuses connection %s with a precise message, and starts or sends nothing',
    async (name, spec, message) => {
      await kubectlOk(
        app,
        ['apply', '-f', '-'],
        connectionManifest(name, { targetNamespace: `${target}-x`, ...(await spec()) }),
      );
      const ready = await waitFor(
        async () => {
          const c = await readyCondition(name);
          return c?.status === 'False' && c.reason !== 'ReconcileError' ? c : undefined;
        },
        { timeoutMs: 30_000, what: `connection ${name} refused` },
      );
      expect(ready.reason).toBe(name === 'lp-evil-image' ? 'ImageNotAllowed' : 'CredentialNotAllowed');
      expect(ready.message).toContain(message);
      const names = ownedNames(name);
      // Nothing started or written: no proxy, no token, no cluster identity recorded, no claim namespace created.
      expect(await exists(['-n', operatorNamespace, 'deployment', names.proxy])).toBe(false);
      expect(await exists(['-n', operatorNamespace, 'secret', names.token])).toBe(false);
      const status = JSON.parse(await kubectlOk(app, ['get', 'ctpc', name, '-o', 'json'])) as {
        status?: { clusterID?: string };
      };
      expect(status.status?.clusterID).toBeUndefined();
      expect((await kubectl(cp, ['get', 'namespace', `${target}-x`])).code).not.toBe(0);
      // And the operator could not have read the foreign Secret: it holds no right to.
      expect(await canI(operatorServiceAccount, ['get', 'secrets', '-n', 'lp-elsewhere'])).toBe('no');
    },
  );

  it('gives the proxy no cluster-wide Secret rights; binds it where it delivers connection Secrets, and only there', async () => {
    const list = await kubectlOk(app, ['auth', 'can-i', '--list', `--as=${proxySA}`, '-n', quiet]);
    expect(list).toContain('subjectaccessreviews.authorization.k8s.io');
    expect(list.split('\n').filter((line) => /^secrets\b/.test(line.trim()))).toEqual([]);
    expect(await canI(proxySA, ['list', 'secrets', '--all-namespaces'])).toBe('no');
    expect(await canI(proxySA, ['get', 'secrets', '-n', 'kube-system'])).toBe('no');

    const claim = claimManifest({ name: 'db', namespace: shop, connectionSecret: 'db-conn', paused: true });
    await applyClaims(app, [claim]);
    await writeConnectionSecret(
      cp,
      { targetNamespace: target, namespace: shop, clusterID: connection.clusterID },
      'db-conn',
      {
        password: 's3cret',
      },
    );
    const copy = await waitFor(
      async () => {
        const r = await kubectl(app, ['-n', shop, 'get', 'secret', 'db-conn', '-o', 'json']);
        return r.code === 0
          ? (JSON.parse(r.stdout) as {
              data: Record<string, string>;
              metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
            })
          : undefined;
      },
      { timeoutMs: 60_000, what: 'the connection Secret copy, once the operator bound the proxy in lp-shop' },
    );
    expect(Buffer.from(copy.data.password!, 'base64').toString()).toBe('s3cret');
    expect(copy.metadata.annotations).toMatchObject({
      'connect.ctp.dev/delivered-by': 'lp',
      'connect.ctp.dev/connection-secret-of': 'KubernetesCluster.platform.example.org/db',
    });
    expect(copy.metadata.labels).toMatchObject({ 'connect.ctp.dev/delivered-by': 'lp' });
    expect(await canI(proxySA, ['create', 'secrets', '-n', shop])).toBe('yes');
    expect(await canI(proxySA, ['create', 'secrets', '-n', quiet])).toBe('no');
    expect(await canI(proxySA, ['create', 'secrets', '-n', operatorNamespace])).toBe('no');
  });

  it("lets neither the proxy's nor the operator's token write over or delete a user's Secret where the proxy is bound", async () => {
    await kubectlOk(app, [
      '-n',
      shop,
      'create',
      'secret',
      'generic',
      'user-owned',
      '--from-literal=key=mine',
    ]);
    for (const user of [proxySA, operatorServiceAccount]) {
      const patch = await kubectl(app, [
        '-n',
        shop,
        'patch',
        'secret',
        'user-owned',
        `--as=${user}`,
        '-p',
        JSON.stringify({ data: { key: Buffer.from('theirs').toString('base64') } }),
      ]);
      expect(patch.code).not.toBe(0);
      expect(patch.stderr).toContain(
        'the connector may change or delete only the connection Secret copies it delivered',
      );
      const del = await kubectl(app, ['-n', shop, 'delete', 'secret', 'user-owned', `--as=${user}`]);
      expect(del.code).not.toBe(0);
      expect(del.stderr).toContain('denied');
    }
    // A copy may not be turned into something else either: the label stays.
    const unlabel = await kubectl(app, [
      '-n',
      shop,
      'label',
      'secret',
      'db-conn',
      'connect.ctp.dev/delivered-by-',
      `--as=${proxySA}`,
    ]);
    expect(unlabel.stderr).toContain('must carry the label connect.ctp.dev/delivered-by');
    const data = await kubectlOk(app, [
      '-n',
      shop,
      'get',
      'secret',
      'user-owned',
      '-o',
      'jsonpath={.data.key}',
    ]);
    expect(Buffer.from(data, 'base64').toString()).toBe('mine');
  });

  it('never writes over a Secret the connector did not deliver: the claim gets a ConnectionSecretConflict event', async () => {
    await kubectlOk(app, ['-n', shop, 'create', 'secret', 'generic', 'taken', '--from-literal=key=users']);
    await applyClaims(app, [
      claimManifest({ name: 'squatted', namespace: shop, connectionSecret: 'taken', paused: true }),
    ]);
    await writeConnectionSecret(
      cp,
      { targetNamespace: target, namespace: shop, clusterID: connection.clusterID },
      'taken',
      {
        key: 'connection-details',
      },
    );
    const event = await waitFor(
      async () => {
        const events = JSON.parse(
          await kubectlOk(app, [
            '-n',
            shop,
            'get',
            'events',
            '--field-selector',
            'reason=ConnectionSecretConflict',
            '-o',
            'json',
          ]),
        ) as { items: { message: string; type: string; involvedObject: { kind: string; name: string } }[] };
        return events.items[0];
      },
      { timeoutMs: 60_000, what: 'the ConnectionSecretConflict event' },
    );
    expect(event).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'KubernetesCluster', name: 'squatted' },
    });
    expect(event.message).toContain(`Secret ${shop}/taken exists and was not delivered by connection lp`);
    const data = await kubectlOk(app, ['-n', shop, 'get', 'secret', 'taken', '-o', 'json']);
    const secret = JSON.parse(data) as {
      data: Record<string, string>;
      metadata: { labels?: Record<string, string> };
    };
    expect(Buffer.from(secret.data.key!, 'base64').toString()).toBe('users');
    expect(secret.metadata.labels?.['connect.ctp.dev/delivered-by']).toBeUndefined();
  });

  it('lets the operator change only what it created, and bind only its own ServiceAccounts', async () => {
    await kubectlOk(app, [
      'create',
      'clusterrolebinding',
      'lp-someone-elses',
      '--clusterrole=view',
      '--user=someone',
    ]);
    const del = await kubectl(app, [
      'delete',
      'clusterrolebinding',
      'lp-someone-elses',
      `--as=${operatorServiceAccount}`,
    ]);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain('the operator may change or delete only what it created');
    expect(await exists(['clusterrolebinding', 'lp-someone-elses'])).toBe(true);

    // Binding the Secret rights of an app namespace to someone outside the connector: refused, labelled or not.
    const grant = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'lp-escalate', namespace: quiet, labels: { 'connect.ctp.dev/connection': 'lp' } },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'ctp-connector-proxy-secrets',
      },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: quiet }],
    };
    const escalate = await kubectl(
      app,
      ['create', '-f', '-', `--as=${operatorServiceAccount}`],
      JSON.stringify(grant),
    );
    expect(escalate.code).not.toBe(0);
    expect(escalate.stderr).toContain('the operator binds only ServiceAccounts of its own namespace');

    // Someone else's APIService is out of reach too.
    await kubectlOk(
      app,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name: 'v1alpha1.lp-foreign.example.org' },
        spec: {
          group: 'lp-foreign.example.org',
          version: 'v1alpha1',
          groupPriorityMinimum: 1000,
          versionPriority: 15,
        },
      }),
    );
    const apiService = await kubectl(app, [
      'delete',
      'apiservice',
      'v1alpha1.lp-foreign.example.org',
      `--as=${operatorServiceAccount}`,
    ]);
    expect(apiService.stderr).toContain('the operator may change or delete only what it created');
    await kubectlOk(app, ['delete', 'apiservice', 'v1alpha1.lp-foreign.example.org']);
    await kubectlOk(app, ['delete', 'clusterrolebinding', 'lp-someone-elses']);
  });

  it('unbinds the proxy from a namespace, removing what it left there, once no claim there wants a Secret', async () => {
    await kubectlOk(app, ['-n', shop, 'delete', 'kubernetesclusters', '--all']);
    await waitFor(
      async () => ((await canI(proxySA, ['create', 'secrets', '-n', shop])) === 'no' ? true : undefined),
      {
        timeoutMs: 60_000,
        what: 'the binding in lp-shop removed',
      },
    );
    expect(await exists(['-n', shop, 'rolebinding', ownedNames('lp').secretsRoleBinding])).toBe(false);
    expect(await exists(['-n', shop, 'secret', 'db-conn'])).toBe(false);
    // The users' Secrets are untouched.
    expect(await exists(['-n', shop, 'secret', 'user-owned'])).toBe(true);
    expect(await exists(['-n', shop, 'secret', 'taken'])).toBe(true);
  });
});
