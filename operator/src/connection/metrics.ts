// Prometheus view of every connection's status, computed at scrape time from the operator's cache, so dashboards and
// alerts see what `kubectl get ctpc` shows: conditions, credential expiry, served APIs, proxy replicas. Only the
// leader has a cache, so only the leader exports these series (no duplicates across replicas).
import { Gauge, type Registry } from 'prom-client';
import { statusSchema } from '../api/connection.ts';

/** A connection as the informer holds it: status is validated here, spec only read for a few strings. */
export interface ObservedConnection {
  metadata?: { name?: string; deletionTimestamp?: string | Date };
  spec?: unknown;
  status?: unknown;
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

interface Family {
  help: string;
  labelNames: string[];
  samples(connection: string, c: ConnectionView): Sample[];
}

interface ConnectionView {
  status: ReturnType<typeof statusSchema.parse>;
  targetNamespace: string;
  deleting: boolean;
}

const statuses = ['True', 'False', 'Unknown'] as const;

/** Every series family, by metric name. Ready is always reported (Unknown until the first status is written). */
export const connectionFamilies: Record<string, Family> = {
  ctp_connector_connection_condition: {
    help: 'Status of each condition of a connection: 1 for the current status (True, False or Unknown), else 0',
    labelNames: ['connection', 'type', 'status'],
    samples(connection, { status }) {
      const conditions = status.conditions ?? [];
      const current = new Map(conditions.map((c) => [c.type, c.status]));
      if (!current.has('Ready')) current.set('Ready', 'Unknown');
      return [...current].flatMap(([type, value]) =>
        statuses.map((s) => ({ labels: { connection, type, status: s }, value: s === value ? 1 : 0 })),
      );
    },
  },
  ctp_connector_connection_info: {
    help: 'Identity of a connection (value 1): control-plane namespace, cluster ID, credential mode, control-plane version',
    labelNames: ['connection', 'target_namespace', 'cluster_id', 'credentials_mode', 'control_plane_version'],
    samples(connection, { status, targetNamespace }) {
      return [
        {
          labels: {
            connection,
            target_namespace: targetNamespace,
            cluster_id: status.clusterID ?? '',
            credentials_mode: status.credentials?.mode ?? '',
            control_plane_version: status.controlPlane?.version ?? '',
          },
          value: 1,
        },
      ];
    },
  },
  ctp_connector_connection_credential_expiry_timestamp_seconds: {
    help: 'When the token the proxies use expires (Unix seconds); Scoped tokens only, rotated at half their lifetime',
    labelNames: ['connection'],
    samples(connection, { status }) {
      const expires = Date.parse(status.credentials?.expiresAt ?? '');
      return Number.isNaN(expires) ? [] : [{ labels: { connection }, value: expires / 1000 }];
    },
  },
  ctp_connector_connection_served_apis: {
    help: 'Claim API group/versions a connection serves, by whether their APIService is Available',
    labelNames: ['connection', 'available'],
    samples(connection, { status }) {
      const apis = status.apis ?? [];
      return [true, false].map((available) => ({
        labels: { connection, available: String(available) },
        value: apis.filter((a) => a.available === available).length,
      }));
    },
  },
  ctp_connector_connection_proxy_replicas: {
    help: "Replicas of a connection's proxy Deployment",
    labelNames: ['connection'],
    samples(connection, { status }) {
      return [{ labels: { connection }, value: status.proxy?.replicas ?? 0 }];
    },
  },
  ctp_connector_connection_proxy_ready_replicas: {
    help: "Ready replicas of a connection's proxy Deployment",
    labelNames: ['connection'],
    samples(connection, { status }) {
      return [{ labels: { connection }, value: status.proxy?.readyReplicas ?? 0 }];
    },
  },
  ctp_connector_connection_deleting: {
    help: 'Whether a connection is being deleted (1) and its finalizer still runs',
    labelNames: ['connection'],
    samples(connection, { deleting }) {
      return [{ labels: { connection }, value: deleting ? 1 : 0 }];
    },
  },
};

function view(c: ObservedConnection): ConnectionView {
  const parsed = statusSchema.safeParse(c.status ?? {});
  const spec = (c.spec ?? {}) as { targetNamespace?: unknown };
  return {
    // A status the schema does not know (an older or newer operator wrote it) counts as no status yet.
    status: parsed.success ? parsed.data : {},
    targetNamespace: typeof spec.targetNamespace === 'string' ? spec.targetNamespace : '',
    deleting: Boolean(c.metadata?.deletionTimestamp),
  };
}

/** The samples of one family for the given connections. Pure. */
export function connectionSamples(name: string, connections: readonly ObservedConnection[]): Sample[] {
  const family = connectionFamilies[name];
  if (!family) throw new Error(`unknown connection metric ${name}`);
  return connections.flatMap((c) => {
    const connection = c.metadata?.name;
    return connection ? family.samples(connection, view(c)) : [];
  });
}

export interface ConnectionStatusMetrics {
  /** Where the current connections come from (the leader's informer); `() => []` while not leading. */
  observe(source: () => readonly ObservedConnection[]): void;
}

export function connectionStatusMetrics(registry: Registry): ConnectionStatusMetrics {
  let source: () => readonly ObservedConnection[] = () => [];
  for (const [name, family] of Object.entries(connectionFamilies)) {
    new Gauge({
      name,
      help: family.help,
      labelNames: family.labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of connectionSamples(name, source())) this.set(s.labels, s.value);
      },
    });
  }
  return {
    observe(next) {
      source = next;
    },
  };
}
