// The generated CRD on a real kube-apiserver: it installs, defaults, and its OpenAPI and CEL rules reject bad
// specs with precise messages before any operator sees them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseSpec } from '../operator/src/api/connection.ts';
import { installConnectorCRD } from './harness/connector.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { sharedCluster } from './harness/shared.ts';

const app = sharedCluster('app');

function connection(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'connect.ctp.dev/v1alpha1',
    kind: 'ControlPlaneConnection',
    metadata: { name },
    spec,
  });
}
const valid = {
  controlPlane: { kubeconfigSecretRef: { namespace: 'ctp-system', name: 'cp' } },
  targetNamespace: 'team-1',
};

describe('ControlPlaneConnection CRD on kube-apiserver', () => {
  beforeAll(() => installConnectorCRD(app));

  afterAll(async () => {
    await kubectl(app, ['delete', 'ctpc', '--all', '--wait=false']);
  });

  it('accepts a valid connection and applies the defaults', async () => {
    await kubectlOk(app, ['apply', '-f', '-'], connection('crd-defaults', valid));
    const obj = JSON.parse(await kubectlOk(app, ['get', 'ctpc', 'crd-defaults', '-o', 'json'])) as {
      spec: Record<string, unknown>;
    };
    // kube-apiserver's defaulting (from the generated schema) and the operator's (zod) agree.
    const parsed = parseSpec(valid);
    expect(parsed.ok && parsed.spec).toEqual(obj.spec);
    expect(obj.spec).toMatchObject({
      deletionPolicy: 'Migrate',
      proxy: { replicas: 2 },
      credentials: { mode: 'Scoped' },
    });
    const table = await kubectlOk(app, ['get', 'controlplaneconnections']);
    expect(table.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAME',
      'READY',
      'REASON',
      'CONTROL-PLANE',
      'NAMESPACE',
      'APIS',
      'AGE',
    ]);
  });

  it.each([
    [{ ...valid, controlPlane: {} }, 'set exactly one of kubeconfigSecretRef or server'],
    [{ ...valid, controlPlane: { server: 'https://cp:6443' } }, 'server and tokenSecretRef go together'],
    [{ ...valid, deletionPolicy: 'Orphan' }, 'Unsupported value: "Orphan"'],
    [{ ...valid, targetNamespace: 'Not_A_Label' }, 'spec.targetNamespace: Invalid value'],
    [{ ...valid, proxy: { replicas: 0 } }, 'spec.proxy.replicas: Invalid value'],
  ])('rejects %j', async (spec, message) => {
    const result = await kubectl(app, ['apply', '-f', '-'], connection('crd-invalid', spec));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it('keeps targetNamespace and a set clusterID immutable', async () => {
    await kubectlOk(
      app,
      ['apply', '-f', '-'],
      connection('crd-immutable', { ...valid, clusterID: 'cluster-a' }),
    );
    const moved = await kubectl(
      app,
      ['apply', '-f', '-'],
      connection('crd-immutable', { ...valid, clusterID: 'cluster-a', targetNamespace: 'team-2' }),
    );
    expect(moved.stderr).toContain('targetNamespace is immutable');
    const renamed = await kubectl(
      app,
      ['apply', '-f', '-'],
      connection('crd-immutable', { ...valid, clusterID: 'cluster-b' }),
    );
    expect(renamed.stderr).toContain('clusterID is immutable once set');
    const unset = await kubectl(app, ['replace', '-f', '-'], connection('crd-immutable', valid));
    expect(unset.stderr).toContain('clusterID is immutable once set');
  });
});
