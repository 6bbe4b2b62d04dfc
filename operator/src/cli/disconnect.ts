// `ctp-connector disconnect`: optionally set the deletion policy, delete the connection, wait until the operator's
// finalizer has applied the policy (DESIGN §6, connection/finalize.ts), and say what happened to the claims.
// Claims are counted through the app cluster (the proxy) before deletion: the CLI needs no control-plane access.
import * as api from '../api/connection.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';
import type { DeletionPolicy, DisconnectOptions } from './args.ts';
import { appClusterClient } from './appcluster.ts';
import { cliFieldManager } from './connect.ts';
import {
  getConnection,
  requireConnectionAPI,
  resolveConnectionName,
  watchConnection,
  type Connection,
} from './connections.ts';
import { CliError } from './exit.ts';
import { json, progress, type CliIO } from './output.ts';

export interface ClaimCount {
  group: string;
  version: string;
  kind: string;
  count: number;
}

export interface ClaimCensus {
  counts: ClaimCount[];
  /** APIs whose claims could not be listed (the proxy down, for instance): the totals are then a lower bound. */
  errors: string[];
}

/** Lists every claim of the connection's served APIs in all namespaces of the app cluster. */
export async function countClaims(app: KubeClient, connection: Connection): Promise<ClaimCensus> {
  const census: ClaimCensus = { counts: [], errors: [] };
  for (const gv of connection.status?.apis ?? []) {
    const base = `/apis/${gv.group}/${gv.version}`;
    try {
      const discovery = await app.request<{ resources: { name: string; kind: string }[] }>('GET', base);
      for (const kind of gv.kinds) {
        const resource = discovery.resources.find((r) => r.kind === kind && !r.name.includes('/'));
        if (!resource) {
          census.errors.push(`${kind}.${gv.group}/${gv.version} is not served`);
          continue;
        }
        const list = await app.request<{ items: unknown[] }>('GET', `${base}/${resource.name}`);
        census.counts.push({ group: gv.group, version: gv.version, kind, count: list.items.length });
      }
    } catch (err) {
      census.errors.push(`${gv.group}/${gv.version}: ${(err as Error).message}`);
    }
  }
  return census;
}

export interface DisconnectReport {
  connection: string;
  policy: DeletionPolicy;
  targetNamespace?: string;
  clusterID?: string;
  claims: { total: number; byKind: ClaimCount[]; complete: boolean; errors: string[] };
  /** What the policy did with those claims in the control plane. */
  outcome: 'handed over' | 'left attached' | 'deleted';
}

const outcomes: Record<DeletionPolicy, DisconnectReport['outcome']> = {
  Migrate: 'handed over',
  Detach: 'left attached',
  Delete: 'deleted',
};

export function disconnectReport(
  connection: Connection,
  policy: DeletionPolicy,
  census: ClaimCensus,
): DisconnectReport {
  const spec = connection.spec as { targetNamespace?: string } | undefined;
  return {
    connection: connection.metadata.name,
    policy,
    targetNamespace: spec?.targetNamespace,
    clusterID: connection.status?.clusterID,
    claims: {
      total: census.counts.reduce((sum, c) => sum + c.count, 0),
      byKind: census.counts.filter((c) => c.count > 0),
      complete: census.errors.length === 0,
      errors: census.errors,
    },
    outcome: outcomes[policy],
  };
}

/** The human account of a finished disconnect. Pure. */
export function renderDisconnected(report: DisconnectReport): string {
  const ns = report.targetNamespace ?? 'its target namespace';
  const n = report.claims.total;
  const claims = `${report.claims.complete ? '' : 'at least '}${n} claim${n === 1 ? '' : 's'}`;
  const kinds = report.claims.byKind.length
    ? ` (${report.claims.byKind.map((c) => `${c.kind}.${c.group}: ${c.count}`).join(', ')})`
    : '';
  const what: Record<DeletionPolicy, string> = {
    Migrate:
      `${claims}${kinds} handed over to the control plane: they stay in namespace ${ns}, no longer tied to this ` +
      'cluster, marked with connect.ctp.dev/migrated-from-* annotations.',
    Detach:
      `${claims}${kinds} left untouched in control-plane namespace ${ns}; connecting again with cluster ID ` +
      `${report.clusterID ?? '(unknown)'} re-attaches them.`,
    Delete: `${claims}${kinds} deleted from control-plane namespace ${ns}.`,
  };
  const lines = [
    `ControlPlaneConnection ${report.connection} is gone (deletionPolicy ${report.policy}).`,
    what[report.policy],
    'Removed from this cluster: its APIServices, the proxy and its credentials.',
  ];
  for (const error of report.claims.errors) lines.push(`note: could not count claims: ${error}`);
  return lines.join('\n') + '\n';
}

export async function runDisconnect(options: DisconnectOptions, io: CliIO): Promise<void> {
  const app = appClusterClient(options.app);
  const say = progress(io);
  try {
    await requireConnectionAPI(app);
    const name = await resolveConnectionName(app, options.name);
    let connection = await getConnection(app, name);
    if (!connection) throw new CliError(`ControlPlaneConnection ${name} not found in ${app.server}`);
    const spec = connection.spec as { deletionPolicy?: DeletionPolicy } | undefined;
    const policy = options.policy ?? spec?.deletionPolicy ?? 'Migrate';
    if (options.policy && spec?.deletionPolicy !== options.policy) {
      // A merge patch of the one field: an apply of a partial spec would drop the fields this manager set before.
      connection = await app.request<Connection>(
        'PATCH',
        `/apis/${api.group}/${api.version}/${api.plural}/${name}`,
        {
          body: { spec: { deletionPolicy: options.policy } },
          contentType: 'application/merge-patch+json',
          query: { fieldManager: cliFieldManager },
        },
      );
      say(`set deletionPolicy ${options.policy} on ${name}`);
    }
    const census = await countClaims(app, connection);
    say(
      `${census.counts.reduce((s, c) => s + c.count, 0)} claims served by ${name}; deleting it (deletionPolicy ${policy})`,
    );
    try {
      await app.request('DELETE', `/apis/${api.group}/${api.version}/${api.plural}/${name}`, {
        body: { propagationPolicy: 'Background' },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await watchConnection(app, name, {
      timeoutMs: options.timeoutMs,
      what: `the operator to finalize ${name} (is it running? \`ctp-connector status ${name}\` shows why it waits)`,
      report: say,
      now: io.now,
      until: (c) => (c === undefined || c.metadata.uid !== connection.metadata.uid ? true : undefined),
    });
    const report = disconnectReport(connection, policy, census);
    io.stdout(options.output === 'json' ? json(report) : renderDisconnected(report));
  } finally {
    await app.close();
  }
}
