import { describe, expect, it } from '@jest/globals';
import { parseSpec } from '../api/connection.ts';
import { ownedNames } from '../catalog/names.ts';
import { desiredWorkload, proxyClusterRole, type OperatorSettings } from './workload.ts';

function proxyBinding(settings: OperatorSettings) {
  const parsed = parseSpec({
    controlPlane: { kubeconfigSecretRef: { namespace: 'ns', name: 'cp' } },
    targetNamespace: 'team-1',
  });
  if (!parsed.ok) throw new Error(parsed.message);
  const objects = desiredWorkload({
    connection: 'cp',
    owner: [],
    names: ownedNames('cp'),
    spec: parsed.spec,
    settings,
  });
  return objects.find((o) => o.kind === 'ClusterRoleBinding') as { roleRef: { name: string } } | undefined;
}

describe('proxy workload', () => {
  it('binds the proxy to the shipped ClusterRole, or to the one the installation names', () => {
    expect(proxyBinding({ namespace: 'ctp-system', image: 'i' })?.roleRef.name).toBe(proxyClusterRole);
    expect(
      proxyBinding({ namespace: 'ctp-system', image: 'i', proxyClusterRole: 'release-ctp-connector-proxy' })
        ?.roleRef.name,
    ).toBe('release-ctp-connector-proxy');
  });
});
