// The CLI end to end: `ctp-connector connect | status | disconnect | gitops-secret` as child processes against the
// local app cluster, with the operator and the proxy running in this process (local proxy mode: one connection
// at a time is served, on the operator's one local port).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { z } from 'zod';
import { controlPlaneName } from '../operator/src/claims/identity.ts';
import type { RunningOperator } from '../operator/src/operator.ts';
import type { RunningProxy } from '../operator/src/proxy/server.ts';
import {
  ctpConnector,
  kubeconfigVariant,
  serviceAccountToken,
  startProxyWhenServing,
  type CliResult,
} from './harness/connector-cli.ts';
import { operatorNamespace, prepareConnector, startTestOperator } from './harness/connector.ts';
import { fixturesDir } from './harness/fixtures.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { freePorts } from './harness/ports.ts';
import { sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const name = 'cli';
const target = 'team-cli';
const claimFile = join(fixturesDir, 'samples', 'kubernetescluster-claim.yaml');
const onApp = ['--kubeconfig', app.kubeconfigPath];

/** Prints what the CLI said when an expectation about it fails. */
function expectExit(result: CliResult, code: number): void {
  if (result.code !== code) {
    throw new Error(
      `exit ${result.code}, expected ${code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}

async function exists(args: string[]): Promise<boolean> {
  return (await kubectl(app, ['get', ...args])).code === 0;
}

/** The control plane's claims of one cluster in the target namespace. */
async function storedClaims(clusterID: string): Promise<{ metadata: { name: string } }[]> {
  const list = await kubectlOk(cp, [
    '-n',
    target,
    'get',
    'kubernetesclusters',
    '-l',
    `connect.ctp.dev/cluster-id=${clusterID}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(list) as { items: { metadata: { name: string } }[] }).items;
}

const connectResultSchema = z.object({
  name: z.literal(name),
  ready: z.literal(true),
  message: z.string(),
  clusterID: z.string().min(1),
  controlPlane: z.string(),
  targetNamespace: z.literal(target),
  apis: z.array(
    z.object({
      group: z.string(),
      version: z.string(),
      kinds: z.array(z.string()),
      apiService: z.string(),
      available: z.boolean(),
    }),
  ),
});

describe('ctp-connector CLI', () => {
  let operator: RunningOperator;
  let port: number;
  let proxy: RunningProxy | undefined;
  let clusterID: string;

  const stopProxy = async () => {
    await proxy?.stop();
    proxy = undefined;
  };

  /** `connect` with the proxy started alongside, once the operator has issued its certificate. */
  const connect = async (args: string[]) => {
    const [result, started] = await Promise.all([
      ctpConnector([
        'connect',
        cp.kubeconfigPath,
        target,
        '--name',
        name,
        ...onApp,
        '--timeout',
        '150s',
        ...args,
      ]),
      startProxyWhenServing(app, name, port, 150_000),
    ]);
    proxy = started;
    return result;
  };

  beforeAll(async () => {
    await prepareConnector(app, readFileSync(cp.kubeconfigPath, 'utf8'));
    [port] = (await freePorts(1)) as [number];
    operator = await startTestOperator(app, port);
  });

  afterAll(async () => {
    for (const c of [name, 'cli-powerless', 'cli-unreachable'])
      await kubectl(app, ['delete', 'ctpc', c, '--ignore-not-found', '--timeout=60s']);
    await stopProxy();
    await operator?.stop();
  });

  it('refuses bad input before creating anything, with exit code 2', async () => {
    const missing = await ctpConnector([
      'connect',
      '/nonexistent/kubeconfig',
      target,
      '--name',
      name,
      ...onApp,
    ]);
    expectExit(missing, 2);
    expect(missing.stderr).toContain(
      'ctp-connector connect: cannot read the control-plane kubeconfig /nonexistent/kubeconfig: ENOENT',
    );
    expect(missing.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace

    const exec = kubeconfigVariant(cp, 'exec.kubeconfig', {
      user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'cloud-login' } },
    });
    const execResult = await ctpConnector(['connect', exec, target, '--name', name, ...onApp]);
    expectExit(execResult, 2);
    expect(execResult.stderr).toContain('uses an exec plugin; the proxy needs a token or client certificate');

    const wrongToken = kubeconfigVariant(cp, 'wrong-token.kubeconfig', {
      user: { token: 'not-a-real-token' },
    });
    const rejected = await ctpConnector(['connect', wrongToken, target, '--name', name, ...onApp]);
    expectExit(rejected, 2);
    expect(rejected.stderr).toContain('rejected the credential (401 Unauthorized)');

    const badFlag = await ctpConnector(['connect', cp.kubeconfigPath, target, '--deletion-policy', 'Orphan']);
    expectExit(badFlag, 2);
    expect(badFlag.stderr).toContain('--deletion-policy "Orphan": must be one of Migrate, Detach, Delete');

    expect(await exists(['ctpc', name])).toBe(false);
    expect(await exists(['-n', operatorNamespace, 'secret', 'ctpc-cli-control-plane'])).toBe(false);
  });

  it('exits 1 when the connection stalls (a credential without rights), and disconnect cleans it up', async () => {
    const token = await serviceAccountToken(cp, 'cli-powerless');
    const powerless = kubeconfigVariant(cp, 'powerless.kubeconfig', { user: { token } });
    const result = await ctpConnector([
      'connect',
      powerless,
      'team-cli-powerless',
      '--name',
      'cli-powerless',
      ...onApp,
      '--timeout',
      '60s',
    ]);
    expectExit(result, 1);
    expect(result.stderr).toMatch(
      /ControlPlaneConnection cli-powerless is stalled \(Forbidden\): .*cannot read or create namespace team-cli-powerless/,
    );
    expect(result.stdout).toBe('');

    const gone = await ctpConnector([
      'disconnect',
      'cli-powerless',
      ...onApp,
      '-o',
      'json',
      '--timeout',
      '60s',
    ]);
    expectExit(gone, 0);
    expect(JSON.parse(gone.stdout)).toMatchObject({
      connection: 'cli-powerless',
      policy: 'Migrate',
      claims: { total: 0 },
    });
    expect(await exists(['ctpc', 'cli-powerless'])).toBe(false);
    // The credential Secret is owned by the connection: the garbage collector removes it.
    await waitFor(
      async () =>
        (await exists(['-n', operatorNamespace, 'secret', 'ctpc-cli-powerless-control-plane']))
          ? undefined
          : true,
      { timeoutMs: 60_000, what: 'the garbage collector to remove the credential Secret' },
    );
  });

  it('exits 3 when Ready does not come in time (control plane unreachable), saying where it stands', async () => {
    const [closed] = (await freePorts(1)) as [number];
    const unreachable = kubeconfigVariant(cp, 'unreachable.kubeconfig', {
      server: `https://127.0.0.1:${closed}`,
    });
    const result = await ctpConnector([
      'connect',
      unreachable,
      'team-cli-unreachable',
      '--name',
      'cli-unreachable',
      ...onApp,
      '--timeout',
      '6s',
    ]);
    expectExit(result, 3);
    expect(result.stderr).toContain(`warning: cannot reach https://127.0.0.1:${closed} from here`);
    expect(result.stderr).toMatch(/\[\s*\d+s\] Ready=False ControlPlaneUnreachable/);
    expect(result.stderr).toContain(
      'timed out after 6s waiting for ControlPlaneConnection cli-unreachable to become Ready',
    );
    expect(await exists(['ctpc', 'cli-unreachable'])).toBe(true);
    expectExit(await ctpConnector(['disconnect', 'cli-unreachable', ...onApp, '--timeout', '60s']), 0);
  });

  it('connects: applies the Secret and the connection as ctp-connector-cli, waits for Ready, lists the claim APIs', async () => {
    const result = await connect(['--deletion-policy', 'Detach', '-o', 'json']);
    expectExit(result, 0);
    console.log(`connect took ${result.ms} ms`);
    const connected = connectResultSchema.parse(JSON.parse(result.stdout));
    clusterID = connected.clusterID;
    expect(connected.apis.map((a) => [`${a.group}/${a.version}`, a.kinds, a.available])).toEqual(
      expect.arrayContaining([['platform.example.org/v1alpha1', ['KubernetesCluster'], true]]),
    );
    expect(connected.apis.every((a) => a.available)).toBe(true);
    // Progress went to stderr: what was applied, then condition changes up to Ready.
    expect(result.stderr).toContain(
      `applied Secret ${operatorNamespace}/ctpc-cli-control-plane (the control-plane kubeconfig)`,
    );
    expect(result.stderr).toContain(`applied ControlPlaneConnection ${name} (targetNamespace ${target})`);
    expect(result.stderr).toMatch(/\] Ready=True Connected: serving \d+ claim API group\/versions/);

    const connection = JSON.parse(
      await kubectlOk(app, ['get', 'ctpc', name, '-o', 'json', '--show-managed-fields']),
    ) as {
      metadata: {
        uid: string;
        managedFields: { manager: string; operation: string; subresource?: string }[];
      };
      spec: Record<string, unknown>;
    };
    expect(connection.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'ctp-connector-cli', operation: 'Apply' }),
    );
    expect(connection.spec).toMatchObject({
      controlPlane: {
        kubeconfigSecretRef: { namespace: operatorNamespace, name: 'ctpc-cli-control-plane', key: 'value' },
      },
      targetNamespace: target,
      deletionPolicy: 'Detach',
    });
    const secret = JSON.parse(
      await kubectlOk(app, [
        '-n',
        operatorNamespace,
        'get',
        'secret',
        'ctpc-cli-control-plane',
        '-o',
        'json',
      ]),
    ) as { metadata: { ownerReferences: { uid: string; kind: string }[] }; data: { value: string } };
    expect(secret.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ControlPlaneConnection', uid: connection.metadata.uid }),
    ]);
    // Only the current context of the given kubeconfig is stored.
    const stored = load(Buffer.from(secret.data.value, 'base64').toString('utf8')) as { contexts: unknown[] };
    expect(stored.contexts).toHaveLength(1);
  }, 240_000);

  it('status prints connections, APIs, credential expiry and proxy health, as a table and as JSON', async () => {
    // The app cluster from KUBECONFIG this time, as most users run it.
    const text = await ctpConnector(['status'], { KUBECONFIG: app.kubeconfigPath });
    expectExit(text, 0);
    const [connections, apis] = text.stdout.split('\n\n');
    expect(connections).toMatch(
      /^NAME\s+READY\s+REASON\s+CONTROL-PLANE\s+TARGET-NAMESPACE\s+APIS\s+CREDENTIALS\s+PROXY\n/,
    );
    expect(connections).toMatch(
      new RegExp(
        `\\ncli\\s+True\\s+Connected\\s+${cp.server}\\s+${target}\\s+(\\d+)/\\1\\s+Scoped, expires in \\d+m\\s+0/2 ready`,
      ),
    );
    expect(apis).toMatch(/^CONNECTION\s+GROUP\/VERSION\s+KINDS\s+APISERVICE\s+AVAILABLE\n/);
    expect(apis).toMatch(
      /\ncli\s+platform\.example\.org\/v1alpha1\s+KubernetesCluster\s+v1alpha1\.platform\.example\.org\s+True/,
    );

    const asJson = await ctpConnector(['status', name, ...onApp, '-o', 'json']);
    expectExit(asJson, 0);
    const view = JSON.parse(asJson.stdout) as {
      name: string;
      state: string;
      credentials: { mode: string; expiresAt: string };
      proxy: { desiredReplicas: number; replicas: number; readyReplicas: number };
      apis: { apiService: string; available: boolean }[];
    };
    const live = JSON.parse(await kubectlOk(app, ['get', 'ctpc', name, '-o', 'json'])) as {
      status: { credentials: { expiresAt: string }; proxy: { replicas: number } };
    };
    expect(view).toMatchObject({
      name,
      state: 'Ready',
      credentials: { mode: 'Scoped', expiresAt: live.status.credentials.expiresAt },
      proxy: { desiredReplicas: 2, replicas: live.status.proxy.replicas, readyReplicas: 0 },
    });
    expect(new Date(view.credentials.expiresAt).getTime()).toBeGreaterThan(Date.now());
    for (const a of view.apis) {
      const available = await kubectlOk(app, [
        'get',
        'apiservice',
        a.apiService,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Available")].status}',
      ]);
      expect([a.apiService, a.available]).toEqual([a.apiService, available === 'True']);
    }

    const missing = await ctpConnector(['status', 'nope', ...onApp]);
    expectExit(missing, 1);
    expect(missing.stderr).toContain('ControlPlaneConnection nope not found');
  });

  it('authenticates as an exec plugin says (as cloud CLIs do), and refuses an auth-provider user with exit code 2', async () => {
    // The plugin prints the app cluster's admin certificate as an ExecCredential and counts its runs.
    const config = load(readFileSync(app.kubeconfigPath, 'utf8')) as {
      users: { name: string; user: Record<string, unknown> }[];
    };
    const admin = config.users[0]!.user;
    const pem = (key: string) => Buffer.from(String(admin[key]), 'base64').toString('utf8');
    const dir = join(app.dir, 'exec-plugin');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'credential.json'),
      JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: {
          clientCertificateData: pem('client-certificate-data'),
          clientKeyData: pem('client-key-data'),
        },
      }),
    );
    const plugin = join(dir, 'plugin.sh');
    writeFileSync(
      plugin,
      `#!/bin/sh\necho run >> ${join(dir, 'runs')}\ncat ${join(dir, 'credential.json')}\n`,
      {
        mode: 0o755,
      },
    );
    const withUser = (file: string, user: Record<string, unknown>) => {
      const path = join(dir, file);
      writeFileSync(path, JSON.stringify({ ...config, users: config.users.map((u) => ({ ...u, user })) }));
      return path;
    };
    const exec = withUser('exec.kubeconfig', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' },
    });
    const status = await ctpConnector(['status', name, '--kubeconfig', exec, '-o', 'json']);
    expectExit(status, 0);
    expect((JSON.parse(status.stdout) as { state: string }).state).toBe('Ready');
    // One run for all of the command's requests: the credential has no expiry.
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('run\n');

    const legacy = withUser('auth-provider.kubeconfig', { 'auth-provider': { name: 'gcp', config: {} } });
    const refused = await ctpConnector(['status', name, '--kubeconfig', legacy]);
    expectExit(refused, 2);
    expect(refused.stderr).toContain('auth-provider "gcp" is not supported');
  });

  it('disconnect --policy Detach leaves the claim in the control plane, and reconnecting re-attaches it', async () => {
    await waitFor(
      async () => ((await kubectl(app, ['apply', '-f', claimFile])).code === 0 ? true : undefined),
      {
        timeoutMs: 90_000,
        what: 'kubectl apply of the claim through the app cluster',
      },
    );
    const mapped = controlPlaneName('my-cluster', 'default', clusterID);
    expect((await storedClaims(clusterID)).map((c) => c.metadata.name)).toEqual([mapped]);

    const detached = await ctpConnector(['disconnect', name, '--policy', 'Detach', ...onApp, '-o', 'json']);
    expectExit(detached, 0);
    expect(JSON.parse(detached.stdout)).toEqual({
      connection: name,
      policy: 'Detach',
      targetNamespace: target,
      clusterID,
      claims: {
        total: 1,
        byKind: [{ group: 'platform.example.org', version: 'v1alpha1', kind: 'KubernetesCluster', count: 1 }],
        complete: true,
        errors: [],
      },
      outcome: 'left attached',
    });
    expect(await exists(['ctpc', name])).toBe(false);
    expect((await storedClaims(clusterID)).map((c) => c.metadata.name)).toEqual([mapped]);
    await stopProxy();

    const again = await connect([]);
    expectExit(again, 0);
    expect(again.stdout).toContain(`ControlPlaneConnection ${name} is Ready: serving`);
    expect(again.stdout).toContain(
      `Claims of this cluster (ID ${clusterID}) live in control-plane namespace ${target}.`,
    );
    expect(again.stdout).toMatch(
      /Claim APIs now available in this cluster:\nGROUP\/VERSION\s+KINDS\s+APISERVICE\s+AVAILABLE\n/,
    );
    expect(again.stdout).toMatch(
      /\nplatform\.example\.org\/v1alpha1\s+KubernetesCluster\s+v1alpha1\.platform\.example\.org\s+True\n/,
    );
    const back = await waitFor(
      async () => {
        const r = await kubectl(app, [
          '-n',
          'default',
          'get',
          'kubernetescluster',
          'my-cluster',
          '-o',
          'name',
        ]);
        return r.code === 0 ? r.stdout.trim() : undefined;
      },
      { timeoutMs: 60_000, what: 'the re-attached claim in the app cluster' },
    );
    expect(back).toBe('kubernetescluster.platform.example.org/my-cluster');
  }, 360_000);

  it('disconnect --policy Delete (the only connection, no name given) deletes the claim in the control plane', async () => {
    const deleted = await ctpConnector(['disconnect', '--policy', 'Delete', ...onApp]);
    expectExit(deleted, 0);
    console.log(`disconnect --policy Delete took ${deleted.ms} ms`);
    expect(deleted.stdout).toBe(
      [
        `ControlPlaneConnection ${name} is gone (deletionPolicy Delete).`,
        `1 claim (KubernetesCluster.platform.example.org: 1) deleted from control-plane namespace ${target}.`,
        'Removed from this cluster: its APIServices, the proxy and its credentials.',
        '',
      ].join('\n'),
    );
    expect(deleted.stderr).toContain(`set deletionPolicy Delete on ${name}`);
    expect(await storedClaims(clusterID)).toEqual([]);
    expect(await exists(['ctpc', name])).toBe(false);
    await stopProxy();
  }, 240_000);

  describe('gitops-secret', () => {
    const argoSecretSchema = z.object({
      apiVersion: z.literal('v1'),
      kind: z.literal('Secret'),
      metadata: z.object({
        name: z.string(),
        namespace: z.string(),
        labels: z.object({ 'argocd.argoproj.io/secret-type': z.literal('cluster') }),
      }),
      type: z.literal('Opaque'),
      stringData: z.strictObject({ name: z.string(), server: z.url(), config: z.string() }),
    });
    const base64 = z.string().regex(/^[A-Za-z0-9+/]+=*$/);
    const argoConfigSchema = z.strictObject({
      bearerToken: z.string().optional(),
      tlsClientConfig: z.strictObject({
        insecure: z.boolean(),
        caData: base64.optional(),
        certData: base64.optional(),
        keyData: base64.optional(),
      }),
    });

    /** Who the control plane says we are (SelfSubjectReview), over a plain HTTPS request. */
    function whoAmI(
      server: string,
      tls: { ca: string; cert?: string; key?: string; token?: string },
    ): Promise<string> {
      const url = new URL('/apis/authentication.k8s.io/v1/selfsubjectreviews', server);
      const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
      return new Promise((resolve, reject) => {
        const req = httpsRequest(
          url,
          {
            method: 'POST',
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            headers: {
              'content-type': 'application/json',
              ...(tls.token ? { authorization: `Bearer ${tls.token}` } : {}),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              if (res.statusCode !== 201) reject(new Error(`${res.statusCode}: ${text}`));
              else
                resolve(
                  (JSON.parse(text) as { status: { userInfo: { username: string } } }).status.userInfo
                    .username,
                );
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    }

    const decode = (b64?: string) => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined);

    it('--for argocd: a cluster Secret whose config authenticates (bearer token and client certificate)', async () => {
      const token = await serviceAccountToken(cp, 'cli-argocd');
      const tokenConfig = kubeconfigVariant(cp, 'argocd-token.kubeconfig', { user: { token } });
      const admin = (
        await kubectlOk(cp, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])
      ).trim();
      await kubectl(app, ['create', 'namespace', 'argocd']);

      for (const [kubeconfig, identity] of [
        [tokenConfig, 'system:serviceaccount:default:cli-argocd'],
        [cp.kubeconfigPath, admin],
      ] as const) {
        const result = await ctpConnector(['gitops-secret', '--for', 'argocd', kubeconfig, '--name', 'cp']);
        expectExit(result, 0);
        const secret = argoSecretSchema.parse(load(result.stdout));
        expect(secret.metadata).toMatchObject({ name: 'cp', namespace: 'argocd' });
        expect(secret.stringData).toMatchObject({ name: 'cp', server: cp.server });
        const config = argoConfigSchema.parse(JSON.parse(secret.stringData.config));
        expect(config.tlsClientConfig.insecure).toBe(false);
        const username = await whoAmI(secret.stringData.server, {
          ca: decode(config.tlsClientConfig.caData)!,
          cert: decode(config.tlsClientConfig.certData),
          key: decode(config.tlsClientConfig.keyData),
          token: config.bearerToken,
        });
        expect(username).toBe(identity);
        // A valid core Secret as far as the API server is concerned.
        await kubectlOk(app, ['apply', '--dry-run=server', '-f', '-'], result.stdout);
      }
    });

    it('--for flux: a kubeConfig.secretRef Secret whose "value" works with kubectl against the control plane', async () => {
      const result = await ctpConnector(['gitops-secret', '--for', 'flux', cp.kubeconfigPath, '-o', 'json']);
      expectExit(result, 0);
      const secret = JSON.parse(result.stdout) as {
        metadata: { name: string; namespace: string };
        stringData: Record<string, string>;
      };
      expect(secret.metadata).toEqual({ name: 'control-plane', namespace: 'flux-system' });
      expect(Object.keys(secret.stringData)).toEqual(['value']);
      const path = join(cp.dir, 'flux-value.kubeconfig');
      writeFileSync(path, secret.stringData.value!, { mode: 0o600 });
      const namespaces = await kubectlOk({ kubeconfigPath: path, dir: cp.dir }, [
        'get',
        'namespace',
        'kube-system',
        '-o',
        'name',
      ]);
      expect(namespaces.trim()).toBe('namespace/kube-system');
      await kubectl(app, ['create', 'namespace', 'flux-system']);
      await kubectlOk(app, ['apply', '--dry-run=server', '-f', '-'], result.stdout);
    });
  });
});
