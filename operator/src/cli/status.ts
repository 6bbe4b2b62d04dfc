// `ctp-connector status`: connections, the claim APIs they serve, credential expiry and proxy health (the live
// APIServices' Available condition and the proxy replicas the operator reports), as a table or JSON.
import type * as api from '../api/connection.ts';
import type { APIService } from '../connection/apiservices.ts';
import { connectionLabel } from '../connection/names.ts';
import { list } from '../kube/resources.ts';
import type { StatusOptions } from './args.ts';
import { appClusterClient } from './appcluster.ts';
import {
  getConnection,
  listConnections,
  readiness,
  requireConnectionAPI,
  type Connection,
} from './connections.ts';
import { CliError } from './exit.ts';
import { json, relativeTime, table, type CliIO } from './output.ts';

export interface ServedAPIView {
  group: string;
  version: string;
  kinds: string[];
  apiService: string;
  available: boolean;
  /** Why the APIService is not Available, from the aggregator. */
  message?: string;
}

export interface StatusView {
  name: string;
  state: 'Ready' | 'Progressing' | 'Stalled' | 'Deleting';
  ready: { status: string; reason: string; message: string };
  controlPlane?: string;
  targetNamespace?: string;
  clusterID?: string;
  deletionPolicy?: string;
  credentials: { mode?: string; expiresAt?: string };
  proxy: { desiredReplicas: number; replicas: number; readyReplicas: number };
  apis: ServedAPIView[];
  conditions: api.Condition[];
}

/** One connection's status as the CLI shows it, from the connection and its live APIServices. Pure. */
export function statusView(connection: Connection, apiServices: readonly APIService[]): StatusView {
  const spec = connection.spec as
    { targetNamespace?: string; deletionPolicy?: string; proxy?: { replicas?: number } } | undefined;
  const status = connection.status;
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  return {
    name: connection.metadata.name,
    state: connection.metadata.deletionTimestamp ? 'Deleting' : readiness(connection).state,
    ready: {
      status: ready?.status ?? 'Unknown',
      reason: ready?.reason ?? 'NotReconciled',
      message: ready?.message ?? '',
    },
    controlPlane: status?.controlPlane?.server,
    targetNamespace: spec?.targetNamespace,
    clusterID: status?.clusterID,
    deletionPolicy: spec?.deletionPolicy,
    credentials: { mode: status?.credentials?.mode, expiresAt: status?.credentials?.expiresAt },
    proxy: {
      desiredReplicas: spec?.proxy?.replicas ?? 2,
      replicas: status?.proxy?.replicas ?? 0,
      readyReplicas: status?.proxy?.readyReplicas ?? 0,
    },
    apis: (status?.apis ?? []).map((a) => {
      const live = apiServices.find((s) => s.metadata.name === a.apiService);
      const condition = live?.status?.conditions?.find((c) => c.type === 'Available');
      const available = live ? condition?.status === 'True' : false;
      return {
        ...a,
        available,
        ...(available
          ? {}
          : { message: live ? (condition?.message ?? 'no Available condition yet') : 'APIService missing' }),
      };
    }),
    conditions: status?.conditions ?? [],
  };
}

/** Tables for humans: one row per connection, then one per served API, then what is wrong. Pure. */
export function renderStatus(views: readonly StatusView[], now: Date): string {
  if (views.length === 0) return 'No ControlPlaneConnections.\n';
  const connections = table(
    ['NAME', 'READY', 'REASON', 'CONTROL-PLANE', 'TARGET-NAMESPACE', 'APIS', 'CREDENTIALS', 'PROXY'],
    views.map((v) => [
      v.name,
      v.state === 'Deleting' ? 'Deleting' : v.ready.status,
      v.ready.reason,
      v.controlPlane ?? '<unknown>',
      v.targetNamespace ?? '',
      `${v.apis.filter((a) => a.available).length}/${v.apis.length}`,
      credentials(v, now),
      `${v.proxy.readyReplicas}/${v.proxy.desiredReplicas} ready`,
    ]),
  );
  const apiRows = views.flatMap((v) =>
    v.apis.map((a) => [
      v.name,
      `${a.group}/${a.version}`,
      a.kinds.join(','),
      a.apiService,
      a.available ? 'True' : 'False',
    ]),
  );
  const apis = apiRows.length
    ? '\n' + table(['CONNECTION', 'GROUP/VERSION', 'KINDS', 'APISERVICE', 'AVAILABLE'], apiRows)
    : '';
  const problems = views.flatMap((v) => [
    ...(v.state === 'Ready'
      ? []
      : [`${v.name}: ${v.state}: ${v.ready.reason}${v.ready.message ? `: ${v.ready.message}` : ''}`]),
    ...v.apis
      .filter((a) => !a.available)
      .map((a) => `${v.name}: APIService ${a.apiService} not Available: ${a.message}`),
  ]);
  return connections + apis + (problems.length ? `\n${problems.join('\n')}\n` : '');
}

function credentials(view: StatusView, now: Date): string {
  const mode = view.credentials.mode ?? 'unknown';
  if (!view.credentials.expiresAt) return mode;
  return `${mode}, expires ${relativeTime(new Date(view.credentials.expiresAt), now)}`;
}

export async function runStatus(options: StatusOptions, io: CliIO): Promise<void> {
  const app = appClusterClient(options.app);
  try {
    await requireConnectionAPI(app);
    let connections: Connection[];
    if (options.name) {
      const one = await getConnection(app, options.name);
      if (!one) throw new CliError(`ControlPlaneConnection ${options.name} not found in ${app.server}`);
      connections = [one];
    } else {
      connections = await listConnections(app);
    }
    const apiServices = await list<APIService>(app, 'apiregistration.k8s.io/v1', 'APIService', {
      labelSelector: connectionLabel,
    });
    const views = connections.map((c) =>
      statusView(
        c,
        apiServices.filter((s) => s.metadata.labels?.[connectionLabel] === c.metadata.name),
      ),
    );
    io.stdout(
      options.output === 'json' ? json(options.name ? views[0] : views) : renderStatus(views, io.now()),
    );
  } finally {
    await app.close();
  }
}
