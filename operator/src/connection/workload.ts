// The proxy workload of a connection: ServiceAccount, least-privilege RBAC, Deployment, Service and
// PodDisruptionBudget. Pure: spec and settings in, objects out.
import type { ControlPlaneConnectionSpec } from '../api/connection.ts';
import type { KubeObject, OwnerReference } from '../kube/resources.ts';
import type { ProxyEndpoint } from './apiservices.ts';
import { connectionLabel, managedByLabels } from './names.ts';
import { type OwnedNames } from '../catalog/names.ts';

export interface OperatorSettings {
  /** Namespace of the operator and of every per-connection object. */
  namespace: string;
  /** Image of the proxy when spec.proxy.image is empty (the operator's own). */
  image: string;
  /** Other images spec.proxy.image may name: exact references, or prefixes ending in "*". Default none. */
  allowedProxyImages?: string[];
  /**
   * Local development and tests: the proxy runs as a process on the apiserver's host, listening on this port, and
   * the Service is an ExternalName for localhost (there is no kubelet or kube-proxy). Unset in real clusters.
   */
  localProxyPort?: number;
  /** ClusterRole every proxy is bound to; installed with the operator, named per release by the Helm chart. */
  proxyClusterRole?: string;
  /** ClusterRole bound in each namespace a proxy delivers connection Secrets to (also named per release). */
  proxySecretsClusterRole?: string;
  /** The operator's own identity, learnt at start: a subject of those per-namespace bindings, to clean up. */
  operatorSubject?: RBACSubject;
}

export interface RBACSubject {
  kind: 'ServiceAccount' | 'User';
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export const proxyContainerPort = 8443;
/** Plain-HTTP Prometheus endpoint of the proxy pods (the operator's is 8080 too). */
export const proxyMetricsPort = 8080;
/** Default ClusterRole of every proxy, installed with the operator (config/rbac/proxy-role.yaml). */
export const proxyClusterRole = 'ctp-connector-proxy';
/** Default ClusterRole bound per app namespace for connection Secret copies (config/rbac/proxy-role.yaml). */
export const proxySecretsClusterRole = 'ctp-connector-proxy-secrets';

export interface WorkloadInput {
  connection: string;
  owner: OwnerReference[];
  names: OwnedNames;
  spec: ControlPlaneConnectionSpec;
  settings: OperatorSettings;
}

export function proxyEndpoint(input: Pick<WorkloadInput, 'names' | 'settings'>): ProxyEndpoint {
  return {
    namespace: input.settings.namespace,
    service: input.names.proxy,
    port: input.settings.localProxyPort ?? 443,
  };
}

export function proxySelector(connection: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'ctp-connector-proxy', [connectionLabel]: connection };
}

export function desiredWorkload(input: WorkloadInput): KubeObject[] {
  const { connection, owner, names, spec, settings } = input;
  const ns = settings.namespace;
  const labels = { ...managedByLabels, ...proxySelector(connection), 'app.kubernetes.io/component': 'proxy' };
  const meta = (name: string, namespace?: string) => ({
    name,
    ...(namespace ? { namespace } : {}),
    labels,
    ownerReferences: owner,
  });
  const sa = { kind: 'ServiceAccount', name: names.proxy, namespace: ns };
  const replicas = spec.proxy.replicas;
  // From `make bench` (bench/results): 180 MiB RSS idle, 618 MiB with 200 watches under a write load.
  const resources = spec.proxy.resources ?? {
    requests: { cpu: '50m', memory: '256Mi' },
    limits: { memory: '1Gi' },
  };

  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(names.proxy, ns),
      automountServiceAccountToken: true,
    },
    {
      // The proxy's cluster-wide rights live in one ClusterRole shipped with the operator (config/rbac), so the
      // operator needs only `bind` on it, never the rights themselves.
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(names.clusterRoleBinding),
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: settings.proxyClusterRole ?? proxyClusterRole,
      },
      subjects: [sa],
    },
    {
      // The aggregator's client CA and allowed names.
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${names.proxy}-auth-reader`, 'kube-system'),
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      },
      subjects: [sa],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(names.proxy, ns),
      rules: [
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: [names.token, names.serving],
          verbs: ['get', 'watch', 'list'],
        },
        {
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: [names.catalog],
          verbs: ['get', 'watch', 'list'],
        },
        {
          // Where it delivers connection Secrets: the operator binds it there (secretgrants.ts).
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: [names.secretNamespaces],
          verbs: ['get', 'patch'],
        },
      ],
    },
    {
      // Created empty by the operator; each proxy replica patches its own key in (the operator never writes data).
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(names.secretNamespaces, ns),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(names.proxy, ns),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.proxy },
      subjects: [sa],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(names.proxy, ns),
      spec: {
        replicas,
        selector: { matchLabels: proxySelector(connection) },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: names.proxy,
            // The proxy serves on for 5 s after SIGTERM (--shutdown-delay-seconds), then up to 25 s for requests in
            // flight (--shutdown-timeout-seconds): the pod must be given longer than both before SIGKILL.
            terminationGracePeriodSeconds: 40,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: {
                      topologyKey: 'kubernetes.io/hostname',
                      labelSelector: { matchLabels: proxySelector(connection) },
                    },
                  },
                ],
              },
            },
            ...(spec.proxy.nodeSelector ? { nodeSelector: spec.proxy.nodeSelector } : {}),
            ...(spec.proxy.tolerations ? { tolerations: spec.proxy.tolerations } : {}),
            ...(spec.proxy.priorityClassName ? { priorityClassName: spec.proxy.priorityClassName } : {}),
            containers: [
              {
                name: 'proxy',
                image: spec.proxy.image ?? settings.image,
                args: [
                  'proxy',
                  `--connection=${connection}`,
                  `--namespace=${ns}`,
                  `--port=${proxyContainerPort}`,
                  `--metrics-bind-address=:${proxyMetricsPort}`,
                ],
                ports: [
                  { name: 'https', containerPort: proxyContainerPort, protocol: 'TCP' },
                  { name: 'metrics', containerPort: proxyMetricsPort, protocol: 'TCP' },
                ],
                resources,
                readinessProbe: {
                  httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' },
                  periodSeconds: 5,
                },
                livenessProbe: {
                  httpGet: { path: '/livez', port: 'https', scheme: 'HTTPS' },
                  periodSeconds: 10,
                  failureThreshold: 6,
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(names.proxy, ns),
      spec:
        settings.localProxyPort === undefined
          ? {
              type: 'ClusterIP',
              selector: proxySelector(connection),
              ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }],
            }
          : { type: 'ExternalName', externalName: 'localhost' },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(names.proxy, ns),
      spec: {
        ...(replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
        selector: { matchLabels: proxySelector(connection) },
      },
    },
  ];
}
