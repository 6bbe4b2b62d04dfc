import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { connectionSamples, connectionStatusMetrics, type ObservedConnection } from './metrics.ts';

const ready: ObservedConnection = {
  metadata: { name: 'cp' },
  spec: { targetNamespace: 'team-1' },
  status: {
    clusterID: 'c-1',
    controlPlane: { server: 'https://cp:6443', version: 'v1.37.2' },
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Serving', lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'Stalled', status: 'False', reason: 'NoError', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
    credentials: { mode: 'Scoped', expiresAt: '2026-01-01T01:00:00Z' },
    apis: [
      {
        group: 'a.example.org',
        version: 'v1',
        kinds: ['A'],
        apiService: 'v1.a.example.org',
        available: true,
      },
      {
        group: 'b.example.org',
        version: 'v1',
        kinds: ['B'],
        apiService: 'v1.b.example.org',
        available: false,
      },
    ],
    proxy: { replicas: 2, readyReplicas: 1 },
  },
};
const fresh: ObservedConnection = {
  metadata: { name: 'new', deletionTimestamp: '2026-01-01T00:00:00Z' },
  spec: {},
};

describe('connection status metrics', () => {
  it('report each condition with one series per status, and Ready as Unknown before any status', () => {
    const samples = connectionSamples('ctp_connector_connection_condition', [ready, fresh]);
    const current = samples.filter((s) => s.value === 1).map((s) => s.labels);
    expect(current).toEqual([
      { connection: 'cp', type: 'Ready', status: 'True' },
      { connection: 'cp', type: 'Stalled', status: 'False' },
      { connection: 'new', type: 'Ready', status: 'Unknown' },
    ]);
    expect(samples).toHaveLength(9);
  });

  it('report credential expiry in Unix seconds only when the status has one', () => {
    expect(
      connectionSamples('ctp_connector_connection_credential_expiry_timestamp_seconds', [ready, fresh]),
    ).toEqual([{ labels: { connection: 'cp' }, value: Date.parse('2026-01-01T01:00:00Z') / 1000 }]);
  });

  it('count served APIs by availability, proxy replicas, deletion and identity', () => {
    expect(connectionSamples('ctp_connector_connection_served_apis', [ready]).map((s) => s.value)).toEqual([
      1, 1,
    ]);
    expect(connectionSamples('ctp_connector_connection_proxy_ready_replicas', [ready])[0]?.value).toBe(1);
    expect(
      connectionSamples('ctp_connector_connection_deleting', [ready, fresh]).map((s) => s.value),
    ).toEqual([0, 1]);
    expect(connectionSamples('ctp_connector_connection_info', [ready])[0]?.labels).toEqual({
      connection: 'cp',
      target_namespace: 'team-1',
      cluster_id: 'c-1',
      credentials_mode: 'Scoped',
      control_plane_version: 'v1.37.2',
    });
  });

  it('treat a status the schema rejects as no status rather than failing the scrape', () => {
    const odd = { metadata: { name: 'odd' }, status: { conditions: 'not a list' } };
    expect(
      connectionSamples('ctp_connector_connection_condition', [odd]).filter((s) => s.value === 1),
    ).toEqual([{ labels: { connection: 'odd', type: 'Ready', status: 'Unknown' }, value: 1 }]);
  });

  it('are computed from the current source at scrape time, and vanish when the source is emptied', async () => {
    const registry = new Registry();
    const metrics = connectionStatusMetrics(registry);
    expect(await registry.metrics()).not.toContain('connection="cp"');
    metrics.observe(() => [ready]);
    expect(await registry.metrics()).toContain(
      'ctp_connector_connection_condition{connection="cp",type="Ready",status="True"} 1',
    );
    metrics.observe(() => []);
    expect(await registry.metrics()).not.toContain('connection="cp"');
  });
});
