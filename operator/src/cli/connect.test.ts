import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { credentialFromKubeconfig } from '../connection/credentials.ts';
import { parseCliArgs, type ConnectOptions } from './args.ts';
import {
  connectObjects,
  credentialSecretName,
  readControlPlaneKubeconfig,
  renderConnected,
} from './connect.ts';
import { CliError, exitCodes } from './exit.ts';
import { readyConnection } from './testdata.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const options = (...argv: string[]) =>
  (parseCliArgs('connect', ['cp.kubeconfig', 'team-a', ...argv]) as { options: ConnectOptions }).options;

function file(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ctp-cli-')), 'kubeconfig');
  writeFileSync(path, content);
  return path;
}

describe('connectObjects', () => {
  it('references the credential Secret and sets only the flags given', () => {
    const { secret, connection } = connectObjects(options(), 'KUBECONFIG');
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'ctpc-team-a-control-plane',
        namespace: 'ctp-system',
        labels: {
          'app.kubernetes.io/managed-by': 'ctp-connector',
          'app.kubernetes.io/part-of': 'ctp-connector',
        },
        annotations: { 'connect.ctp.dev/credentials-for': 'team-a' },
      },
      type: 'Opaque',
      stringData: { value: 'KUBECONFIG' },
    });
    expect(connection).toEqual({
      apiVersion: 'connect.ctp.dev/v1alpha1',
      kind: 'ControlPlaneConnection',
      metadata: { name: 'team-a' },
      spec: {
        controlPlane: {
          kubeconfigSecretRef: { namespace: 'ctp-system', name: 'ctpc-team-a-control-plane', key: 'value' },
        },
        targetNamespace: 'team-a',
      },
    });
    const all = connectObjects(
      options('--cluster-id', 'eu-1', '--credentials-mode', 'Passthrough', '--deletion-policy', 'Detach'),
      'K',
    );
    expect(all.connection.spec).toMatchObject({
      clusterID: 'eu-1',
      credentials: { mode: 'Passthrough' },
      deletionPolicy: 'Detach',
    });
  });

  it('keeps Secret names short for long connection names', () => {
    const name = credentialSecretName('a'.repeat(200) + '.example.org');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^ctpc-a+-[0-9a-f]{6}-control-plane$/);
  });

  it('rejects a spec the API would reject, as a usage error', () => {
    let error: unknown;
    try {
      connectObjects(options('--cluster-id=-bad-'), 'K');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(exitCodes.usage);
    expect((error as Error).message).toContain('spec.clusterID: must be alphanumerics');
  });
});

describe('readControlPlaneKubeconfig', () => {
  it('keeps only the current context, with its credentials embedded', () => {
    const path = file(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'cp',
            cluster: { server: 'https://cp.example.com', 'certificate-authority-data': b64('CA') },
          },
          { name: 'other', cluster: { server: 'https://other.example.com' } },
        ],
        users: [
          { name: 'cp', user: { token: 'cp-token' } },
          { name: 'other', user: { token: 'other-token' } },
        ],
        contexts: [
          { name: 'cp', context: { cluster: 'cp', user: 'cp' } },
          { name: 'other', context: { cluster: 'other', user: 'other' } },
        ],
        'current-context': 'cp',
      }),
    );
    const { credential, kubeconfig } = readControlPlaneKubeconfig(path);
    expect(credential).toEqual({ server: 'https://cp.example.com', caPem: 'CA', token: 'cp-token' });
    expect(kubeconfig).not.toContain('other');
    expect(load(kubeconfig)).toMatchObject({ 'current-context': 'control-plane' });
    expect(credentialFromKubeconfig(kubeconfig, 'round trip')).toEqual(credential);
  });

  it.each([
    ['/nonexistent/kubeconfig', 'cannot read the control-plane kubeconfig /nonexistent/kubeconfig: ENOENT'],
    [file('just: text'), 'no current context with a cluster'],
    [
      file(
        JSON.stringify({
          clusters: [{ name: 'c', cluster: { server: 'https://x' } }],
          users: [
            { name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' } } },
          ],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'c',
        }),
      ),
      'uses an exec plugin; the proxy needs a token or client certificate',
    ],
  ])('refuses %s with a usage error', (path, message) => {
    let error: unknown;
    try {
      readControlPlaneKubeconfig(path);
    } catch (err) {
      error = err;
    }
    expect((error as CliError).exitCode).toBe(exitCodes.usage);
    expect((error as Error).message).toContain(message);
  });
});

describe('renderConnected', () => {
  it('says what is connected and lists the claim APIs', () => {
    expect(renderConnected(readyConnection())).toBe(
      'ControlPlaneConnection team-a is Ready: serving 2 claim API group/versions from https://cp.example.com\n' +
        'Claims of this cluster (ID cluster-1) live in control-plane namespace team-a.\n' +
        '\n' +
        'Claim APIs now available in this cluster:\n' +
        'GROUP/VERSION                   KINDS               APISERVICE                      AVAILABLE\n' +
        'platform.example.org/v1alpha1   KubernetesCluster   v1alpha1.platform.example.org   True\n' +
        'data.example.org/v1             Database,Cache      v1.data.example.org             True\n',
    );
  });
});
