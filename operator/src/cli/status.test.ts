import { describe, expect, it } from '@jest/globals';
import type { APIService } from '../connection/apiservices.ts';
import { renderStatus, statusView } from './status.ts';
import { condition, connection, readyConnection } from './testdata.ts';

const apiService = (name: string, status: string, message?: string): APIService => ({
  apiVersion: 'apiregistration.k8s.io/v1',
  kind: 'APIService',
  metadata: { name },
  status: { conditions: [{ type: 'Available', status, ...(message ? { message } : {}) }] },
});
const now = new Date('2026-01-01T00:02:00Z');

describe('status', () => {
  it('takes availability from the live APIServices and says why one is not available', () => {
    const view = statusView(readyConnection(), [
      apiService('v1alpha1.platform.example.org', 'True'),
      apiService('v1.data.example.org', 'False', 'failing or missing response from https://localhost:8443'),
    ]);
    expect(view).toMatchObject({
      name: 'team-a',
      state: 'Ready',
      ready: { status: 'True', reason: 'Connected' },
      controlPlane: 'https://cp.example.com',
      targetNamespace: 'team-a',
      clusterID: 'cluster-1',
      deletionPolicy: 'Migrate',
      credentials: { mode: 'Scoped', expiresAt: '2026-01-01T01:00:00Z' },
      proxy: { desiredReplicas: 2, replicas: 2, readyReplicas: 1 },
    });
    expect(view.apis.map((a) => [a.apiService, a.available, a.message])).toEqual([
      ['v1alpha1.platform.example.org', true, undefined],
      ['v1.data.example.org', false, 'failing or missing response from https://localhost:8443'],
    ]);
    expect(
      statusView(readyConnection(), []).apis.every((a) => !a.available && a.message === 'APIService missing'),
    ).toBe(true);
  });

  it('renders connections, APIs and problems as tables', () => {
    const ok = statusView(readyConnection(), [
      apiService('v1alpha1.platform.example.org', 'True'),
      apiService('v1.data.example.org', 'True'),
    ]);
    const broken = statusView(
      connection(
        [
          condition('Ready', 'False', 'CredentialsNotFound', 'Secret ctp-system/cp not found'),
          condition('Reconciling', 'True', 'Retrying'),
        ],
        {
          metadata: { name: 'other', generation: 1 },
          status: {
            observedGeneration: 1,
            conditions: [
              condition('Ready', 'False', 'CredentialsNotFound', 'Secret ctp-system/cp not found'),
            ],
          },
        },
      ),
      [],
    );
    expect(renderStatus([ok, broken], now)).toBe(
      [
        'NAME     READY   REASON                CONTROL-PLANE            TARGET-NAMESPACE   APIS   CREDENTIALS              PROXY',
        'team-a   True    Connected             https://cp.example.com   team-a             2/2    Scoped, expires in 58m   1/2 ready',
        'other    False   CredentialsNotFound   <unknown>                team-a             0/0    unknown                  0/2 ready',
        '',
        'CONNECTION   GROUP/VERSION                   KINDS               APISERVICE                      AVAILABLE',
        'team-a       platform.example.org/v1alpha1   KubernetesCluster   v1alpha1.platform.example.org   True',
        'team-a       data.example.org/v1             Database,Cache      v1.data.example.org             True',
        '',
        'other: Progressing: CredentialsNotFound: Secret ctp-system/cp not found',
        '',
      ].join('\n'),
    );
    expect(renderStatus([], now)).toBe('No ControlPlaneConnections.\n');
  });

  it('shows a connection being deleted as Deleting', () => {
    const deleting = readyConnection();
    deleting.metadata.deletionTimestamp = '2026-01-01T00:01:00Z';
    expect(statusView(deleting, []).state).toBe('Deleting');
    expect(renderStatus([statusView(deleting, [])], now)).toMatch(/^team-a\s+Deleting\s+Connected/m);
  });
});
