// Observability: every metric and label the Grafana dashboard and the alerts use is one the operator or the proxy
// exports (read from their registries, not from a list), the alert and dashboard files are well-formed, the
// monitoring objects pass the Prometheus Operator's real CRD schemas, and a Ready connection shows up in the
// operator's metrics as the alerts expect.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { load, loadAll } from 'js-yaml';
import type { Registry } from 'prom-client';
import { connectionStatusMetrics } from '../operator/src/connection/metrics.ts';
import { createControllerMetrics } from '../operator/src/controller/metrics.ts';
import { createProxyMetrics } from '../operator/src/proxy/metrics.ts';
import { connectWithProxy, type ProxiedConnection } from './harness/connect.ts';
import { prepareConnector } from './harness/connector.ts';
import { chartDir } from './harness/helm.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { installMonitoringCRDs } from './harness/monitoring.ts';
import { repoRoot } from './harness/paths.ts';
import { promqlUse, withoutGrafanaIntervals } from './harness/promql.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';
import { scrapeMetrics } from './harness/metrics.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const dir = join(repoRoot, 'config', 'observability');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Target {
  refId: string;
  expr: string;
  datasource: { uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

const rules = (
  load(readFileSync(join(dir, 'alerts.yaml'), 'utf8')) as { spec: { groups: { rules: Rule[] }[] } }
).spec.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(join(dir, 'dashboard.json'), 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

/** Labels Prometheus adds to every scraped series (target labels), plus those the monitors relabel in. */
function targetLabels(kind: 'ServiceMonitor' | 'PodMonitor'): string[] {
  const monitors = loadAll(readFileSync(join(dir, 'monitors.yaml'), 'utf8')) as {
    kind: string;
    spec: { endpoints?: Endpoint[]; podMetricsEndpoints?: Endpoint[] };
  }[];
  type Endpoint = { relabelings?: { targetLabel?: string }[] };
  const monitor = monitors.find((m) => m.kind === kind);
  const relabelled = [...(monitor?.spec.endpoints ?? []), ...(monitor?.spec.podMetricsEndpoints ?? [])]
    .flatMap((e) => e.relabelings ?? [])
    .flatMap((r) => (r.targetLabel ? [r.targetLabel] : []));
  const common = ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint'];
  return [...common, ...(kind === 'ServiceMonitor' ? ['service'] : []), ...relabelled];
}

/** Every series name the operator and the proxy can export, with the labels each may carry when scraped. */
function exportedSeries(): Map<string, Set<string>> {
  const operator = createControllerMetrics().registry;
  connectionStatusMetrics(operator);
  const proxy = createProxyMetrics().registry;
  const series = new Map<string, Set<string>>();
  const add = (registry: Registry, scraped: string[]) => {
    for (const metric of registry.getMetricsAsArray()) {
      const labels = [...((metric as { labelNames?: string[] }).labelNames ?? []), ...scraped];
      // prom-client declares `type` as a numeric enum, but sets the exposition name ('histogram', ...).
      const type = String(metric.type);
      const names =
        type === 'histogram'
          ? [
              [`${metric.name}_bucket`, [...labels, 'le']],
              [`${metric.name}_sum`, labels],
              [`${metric.name}_count`, labels],
            ]
          : type === 'summary'
            ? [
                [metric.name, [...labels, 'quantile']],
                [`${metric.name}_sum`, labels],
                [`${metric.name}_count`, labels],
              ]
            : [[metric.name, labels]];
      for (const [name, l] of names as [string, string[]][]) {
        series.set(name, new Set([...(series.get(name) ?? []), ...l]));
      }
    }
  };
  add(operator, targetLabels('ServiceMonitor'));
  add(proxy, targetLabels('PodMonitor'));
  return series;
}

/** Every PromQL expression of the alerts and the dashboard (panels and variables), with where it comes from. */
function expressions(): [string, string][] {
  const fromPanels = panels.flatMap((p) =>
    (p.targets ?? []).map((t): [string, string] => [`panel "${p.title}" ${t.refId}`, t.expr]),
  );
  const fromVariables = dashboard.templating.list.flatMap((v): [string, string][] => {
    const query = typeof v.query === 'object' ? v.query.query : v.query;
    // Grafana's label_values(<series selector>, <label>): the selector is PromQL, the label must exist on it.
    const match = query?.match(/^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/);
    return match ? [[`variable ${v.name}`, `count by (${match[2]}) (${match[1]})`]] : [];
  });
  return [
    ...rules.map((r): [string, string] => [`alert ${r.alert}`, r.expr]),
    ...fromPanels,
    ...fromVariables,
  ];
}

describe('dashboard and alerts', () => {
  it('use only metrics and labels the operator and the proxy export, in valid PromQL', () => {
    const series = exportedSeries();
    // The proxy's request metrics are there (the names the dashboard is built around).
    expect([...series.keys()]).toEqual(
      expect.arrayContaining([
        'ctp_connector_proxy_requests_total',
        'ctp_connector_proxy_request_duration_seconds_bucket',
        'ctp_connector_proxy_upstream_duration_seconds_bucket',
        'ctp_connector_proxy_watches',
        'ctp_connector_connection_condition',
      ]),
    );
    const problems: string[] = [];
    let selectors = 0;
    for (const [where, expr] of expressions()) {
      const use = promqlUse(withoutGrafanaIntervals(expr));
      problems.push(...use.errors.map((e) => `${where}: ${e}`));
      const available = new Set<string>();
      for (const selector of use.selectors) {
        selectors++;
        const labels = selector.metric ? series.get(selector.metric) : undefined;
        if (!labels) {
          problems.push(`${where}: ${selector.metric ?? 'a selector without a metric name'} is not exported`);
          continue;
        }
        labels.forEach((l) => available.add(l));
        for (const l of selector.labels.filter((l) => !labels.has(l)))
          problems.push(`${where}: ${selector.metric} has no label ${l}`);
      }
      for (const l of use.grouping.filter((l) => !available.has(l)))
        problems.push(`${where}: grouping by ${l}, which none of its metrics has`);
    }
    expect(problems).toEqual([]);
    expect(selectors).toBeGreaterThan(40);
  });

  it('alerts cover connection readiness, credential expiry and proxy errors, each with severity and help', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'CtpConnectorConnectionNotReady',
        'CtpConnectorCredentialExpiringSoon',
        'CtpConnectorProxyErrors',
      ]),
    );
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const rule of rules) {
      expect([rule.alert, rule.for]).toEqual([rule.alert, expect.stringMatching(/^\d+[smh]$/)]);
      expect([rule.alert, rule.labels?.severity]).toEqual([
        rule.alert,
        expect.stringMatching(/^(warning|critical)$/),
      ]);
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'summary']);
    }
  });

  it('the dashboard is well-formed: unique ids, panels on a 24-column grid without overlap, one data source', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const variables = dashboard.templating.list;
    expect(variables.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    const boxes = panels.map((p) => ({ title: p.title, ...p.gridPos }));
    for (const [i, a] of boxes.entries()) {
      expect([a.title, a.x + a.w <= 24 && a.w > 0 && a.h > 0]).toEqual([a.title, true]);
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect([a.title, b.title, overlap]).toEqual([a.title, b.title, false]);
      }
    }
    for (const p of panels.filter((p) => p.type !== 'row')) {
      const targets = p.targets ?? [];
      expect([p.title, targets.length > 0]).toEqual([p.title, true]);
      expect(new Set(targets.map((t) => t.refId)).size).toBe(targets.length);
      for (const t of targets) expect([p.title, t.datasource.uid]).toEqual([p.title, '${datasource}']);
    }
  });

  it('the Helm chart ships the same alerts and dashboard (run `make chart-files` after changing them)', () => {
    for (const file of ['alerts.yaml', 'dashboard.json']) {
      expect([file, readFileSync(join(chartDir, 'files', file), 'utf8')]).toEqual([
        file,
        readFileSync(join(dir, file), 'utf8'),
      ]);
    }
  });
});

describe('monitoring on the app cluster', () => {
  let connection: ProxiedConnection | undefined;

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    await installMonitoringCRDs(app);
  });

  afterAll(async () => {
    await connection?.stop();
  });

  it('config/observability passes the Prometheus Operator CRD schemas (server dry-run)', async () => {
    const out = await kubectlOk(app, ['apply', '--server-side', '--dry-run=server', '-k', dir]);
    expect(out.trim().split('\n').sort()).toEqual([
      'configmap/ctp-connector-dashboard serverside-applied (server dry run)',
      'podmonitor.monitoring.coreos.com/ctp-connector-proxy serverside-applied (server dry run)',
      'prometheusrule.monitoring.coreos.com/ctp-connector serverside-applied (server dry run)',
      'service/ctp-connector-operator-metrics serverside-applied (server dry run)',
      'servicemonitor.monitoring.coreos.com/ctp-connector-operator serverside-applied (server dry run)',
    ]);
  });

  it("exports a Ready connection's conditions, token expiry and APIs, and the proxy's requests", async () => {
    connection = await connectWithProxy(
      app,
      'metrics-observed',
      { targetNamespace: 'team-metrics-observed' },
      { metricsAddress: '127.0.0.1:0', operatorAddresses: { metrics: '127.0.0.1:0', health: '0' } },
    );
    const status = JSON.parse(await kubectlOk(app, ['get', 'ctpc', 'metrics-observed', '-o', 'json'])) as {
      status: { credentials: { expiresAt: string }; apis: { available: boolean }[]; clusterID: string };
    };
    // A claim list through the aggregation layer, so the proxy has answered and asked the control plane.
    await kubectlOk(app, ['get', 'kubernetesclusters', '-A']);

    const operatorMetrics = await scrapeMetrics(connection.operator.addresses.metrics);
    const c = 'connection="metrics-observed"';
    expect(operatorMetrics).toContain(
      `ctp_connector_connection_condition{${c},type="Ready",status="True"} 1`,
    );
    expect(operatorMetrics).toContain(
      `ctp_connector_connection_condition{${c},type="Ready",status="False"} 0`,
    );
    expect(operatorMetrics).toContain(
      `ctp_connector_connection_condition{${c},type="Stalled",status="False"} 1`,
    );
    expect(operatorMetrics).toContain(
      `ctp_connector_connection_credential_expiry_timestamp_seconds{${c}} ${Date.parse(status.status.credentials.expiresAt) / 1000}`,
    );
    expect(operatorMetrics).toContain(
      `ctp_connector_connection_served_apis{${c},available="true"} ${status.status.apis.length}`,
    );
    expect(operatorMetrics).toContain(
      `ctp_connector_connection_info{${c},target_namespace="team-metrics-observed",cluster_id="${status.status.clusterID}",credentials_mode="Scoped"`,
    );
    const proxyMetrics = await scrapeMetrics(connection.proxy.metricsAddress);
    expect(proxyMetrics).toMatch(
      /ctp_connector_proxy_requests_total\{verb="list",resource="kubernetesclusters[^"]*",code="200"\} [1-9]/,
    );
    expect(proxyMetrics).toMatch(
      /ctp_connector_proxy_upstream_duration_seconds_count\{verb="list",code="200"\} [1-9]/,
    );

    // Every family the dashboard and alerts use is in what the two processes really serve.
    const served = new Set(
      [...`${operatorMetrics}\n${proxyMetrics}`.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap(
        ([, name, type]) =>
          type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name ?? ''],
      ),
    );
    const used = expressions().flatMap(([, expr]) =>
      promqlUse(withoutGrafanaIntervals(expr)).selectors.map((s) => s.metric ?? ''),
    );
    expect([...new Set(used)].filter((m) => !served.has(m))).toEqual([]);
  });

  it('drops the series of a deleted connection', async () => {
    const metricsAddress = connection?.operator.addresses.metrics;
    await kubectlOk(app, ['delete', 'ctpc', 'metrics-observed', '--timeout=60s']);
    await waitFor(
      async () =>
        (await scrapeMetrics(metricsAddress)).includes('connection="metrics-observed"') ? undefined : true,
      {
        timeoutMs: 10_000,
        what: 'the deleted connection to leave the metrics',
      },
    );
  });
});
