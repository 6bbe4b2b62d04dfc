// The ControlPlaneConnection API (connect.ctp.dev/v1alpha1). This zod schema is the single source of truth: the
// operator validates with it, and crds/ is generated from it (see crd.ts), CEL rules included.
import { z } from 'zod';

export const group = 'connect.ctp.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const kind = 'ControlPlaneConnection';
export const plural = 'controlplaneconnections';
export const singular = 'controlplaneconnection';
export const shortNames = ['ctpc'];
export const categories = ['ctp-connector'];

export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lower case alphanumerics and "-")');
export const dnsSubdomain = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 subdomain');
const secretKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret data key');

const immutable = (what: string) => ({
  'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: `${what} is immutable` }],
});

export const secretKeyRefSchema = (defaultKey: string) =>
  z.object({
    namespace: dnsLabel.meta({ description: 'Namespace of the Secret in this (the app) cluster.' }),
    name: dnsSubdomain.meta({ description: 'Name of the Secret.' }),
    key: secretKey
      .default(defaultKey)
      .meta({ description: `Key in the Secret's data. Default "${defaultKey}".` }),
  });

export const controlPlaneSchema = z
  .object({
    kubeconfigSecretRef: secretKeyRefSchema('value').optional().meta({
      description:
        'A Secret holding a kubeconfig for the control plane (the Flux and Cluster API convention: key "value").',
    }),
    server: z
      .string()
      .regex(/^https:\/\/[^\s/]+(\/.*)?$/, 'must be an https:// URL')
      .max(2048)
      .optional()
      .meta({ description: 'URL of the control plane kube-apiserver, with caBundle and tokenSecretRef.' }),
    caBundle: z.string().max(65536).optional().meta({
      description:
        'PEM CA bundle that signs the server certificate (plain or base64). Default: system roots.',
    }),
    tokenSecretRef: secretKeyRefSchema('token')
      .optional()
      .meta({ description: 'A Secret holding a bearer token for the control plane, with server.' }),
  })
  // The same rules as the CEL below, for specs that reach the operator without the CRD's validation.
  .refine((cp) => (cp.kubeconfigSecretRef === undefined) !== (cp.server === undefined), {
    message: 'set exactly one of kubeconfigSecretRef or server',
  })
  .refine((cp) => (cp.server === undefined) === (cp.tokenSecretRef === undefined), {
    message: 'server and tokenSecretRef go together',
  })
  .meta({
    description:
      'How to reach the control plane: kubeconfigSecretRef, or server + tokenSecretRef (+ caBundle).',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.kubeconfigSecretRef) != has(self.server)',
        message: 'set exactly one of kubeconfigSecretRef or server',
      },
      {
        rule: 'has(self.server) == has(self.tokenSecretRef)',
        message: 'server and tokenSecretRef go together',
      },
      { rule: '!has(self.caBundle) || has(self.server)', message: 'caBundle goes with server' },
    ],
  });

const apiSelectorSchema = z.object({
  group: dnsSubdomain.meta({ description: 'API group of the claim, e.g. platform.example.org.' }),
  kind: z
    .string()
    .regex(/^[A-Z][A-Za-z0-9]*$/, 'must be a Kind (CamelCase)')
    .max(63)
    .optional()
    .meta({ description: 'Kind within the group; all kinds of the group when empty.' }),
});

export const apisSchema = z.object({
  discovery: z.enum(['Crossplane', 'None']).default('Crossplane').meta({
    description:
      "Crossplane: serve every claim API (v1 claims, v2 namespaced XRs) of the control plane's XRDs. None: serve nothing.",
  }),
  include: z
    .array(apiSelectorSchema)
    .max(256)
    .optional()
    .meta({ description: 'When set, serve only APIs matching one of these.' }),
  exclude: z
    .array(apiSelectorSchema)
    .max(256)
    .optional()
    .meta({ description: 'Never serve APIs matching one of these (applies after include).' }),
});

const quantity = z
  .union([z.string(), z.number()])
  .meta({ 'x-kubernetes-int-or-string': true, description: 'A resource quantity.' });

export const proxySchema = z.object({
  replicas: z.number().int().min(1).max(20).default(2).meta({ description: 'Proxy replicas. Default 2.' }),
  image: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .meta({ description: "Proxy image; default: the operator's own." }),
  resources: z
    .object({
      requests: z
        .record(z.string(), quantity)
        .optional()
        .meta({ description: 'Minimum resources by name (cpu, memory, ...).' }),
      limits: z
        .record(z.string(), quantity)
        .optional()
        .meta({ description: 'Maximum resources by name (cpu, memory, ...).' }),
    })
    .optional()
    .meta({
      description:
        'Compute resources of a proxy container. Default: requests cpu 50m and memory 256Mi, limit memory 1Gi (measured by make bench: 118 MiB idle, 337 MiB with 11 000 claims cached, 668 MiB under 200 watches).',
    }),
  nodeSelector: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: 'Node labels the proxy pods must be scheduled on.' }),
  tolerations: z
    .array(z.looseObject({}))
    .max(64)
    .optional()
    .meta({ description: 'Pod tolerations (core/v1 Toleration).' }),
  priorityClassName: z.string().max(253).optional().meta({ description: 'PriorityClass of the proxy pods.' }),
});

export const credentialsSchema = z.object({
  mode: z
    .enum(['Scoped', 'Passthrough'])
    .default('Scoped')
    .meta({
      description:
        'Scoped: mint a ServiceAccount limited to targetNamespace in the control plane and keep a short-lived, ' +
        'rotated token for the proxy. Passthrough: hand the given credential to the proxy as is.',
    }),
  tokenTTLSeconds: z
    .number()
    .int()
    .min(600)
    .max(86400)
    .default(3600)
    .meta({ description: 'Lifetime of Scoped tokens; they are rotated well before expiry. Default 3600.' }),
});

export const specSchema = z
  .object({
    controlPlane: controlPlaneSchema,
    targetNamespace: dnsLabel.meta({
      description: 'Control-plane namespace that holds every claim of this cluster. Immutable.',
      ...immutable('targetNamespace'),
    }),
    clusterID: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'must be alphanumerics, "-", "_" or "."')
      .optional()
      .meta({
        description:
          "Identity of this cluster in claim names and labels. Default: the UID of this cluster's kube-system " +
          'namespace. Immutable once set: changing it would orphan every claim.',
      }),
    credentials: credentialsSchema
      .prefault({})
      .meta({ description: 'Which credential the proxy uses toward the control plane.' }),
    apis: apisSchema
      .prefault({})
      .meta({ description: 'Which claim APIs of the control plane are served here.' }),
    proxy: proxySchema.prefault({}).meta({
      description:
        "The connection's proxy Deployment (an aggregated API server in the operator's namespace).",
    }),
    deletionPolicy: z
      .enum(['Migrate', 'Detach', 'Delete'])
      .default('Migrate')
      .meta({
        description:
          'On deletion: Migrate hands the claims over to the control plane, Detach leaves them for a later ' +
          'connection with the same clusterID, Delete deletes them.',
      }),
    connectionSecretsOnDeletion: z
      .enum(['Keep', 'Delete'])
      .default('Keep')
      .meta({
        description:
          "On deletion with deletionPolicy Migrate or Detach, what becomes of the claims' connection Secret copies in " +
          'their app namespaces. Keep (the default): they stay, so workloads that use them go on running against ' +
          'resources that live on, but nobody updates them any more. Delete: they are removed. Under deletionPolicy ' +
          'Delete they are always removed, with their claims.',
      }),
  })
  .meta({
    description: 'Which control plane to connect to, and how.',
    'x-kubernetes-validations': [
      {
        rule: '!has(oldSelf.clusterID) || (has(self.clusterID) && self.clusterID == oldSelf.clusterID)',
        message: 'clusterID is immutable once set',
      },
    ],
  });

export const conditionSchema = z.object({
  type: z.string().max(316).meta({ description: 'Condition type, e.g. Ready.' }),
  status: z.enum(['True', 'False', 'Unknown']).meta({ description: 'Status of the condition.' }),
  reason: z.string().max(1024).meta({ description: 'CamelCase reason for the status.' }),
  message: z.string().max(32768).optional().meta({ description: 'Details for humans.' }),
  lastTransitionTime: z
    .string()
    .meta({ format: 'date-time', description: 'When the status last changed (not the reason or message).' }),
  observedGeneration: z
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: 'metadata.generation of the spec this condition was computed from.' }),
});

export const servedAPISchema = z.object({
  group: z.string().meta({ description: 'API group.' }),
  version: z.string().meta({ description: 'API version.' }),
  kinds: z.array(z.string()).meta({ description: 'Kinds served in this group/version.' }),
  apiService: z.string().meta({ description: 'Name of the APIService: <version>.<group>.' }),
  available: z.boolean().meta({
    description: "Whether the APIService is this connection's and the aggregator reports it Available.",
  }),
});

export const statusSchema = z
  .object({
    observedGeneration: z
      .number()
      .int()
      .optional()
      .meta({ description: 'metadata.generation of the spec last reconciled.' }),
    conditions: z
      .array(conditionSchema)
      .optional()
      .meta({
        description: 'Ready, Reconciling, Stalled and one condition per step; see docs/troubleshooting.md.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    clusterID: z.string().optional().meta({
      description:
        'Identity of this cluster in claim names and labels, recorded on first use; never changes.',
    }),
    controlPlane: z
      .object({
        server: z.string().optional().meta({ description: 'URL of the control plane kube-apiserver.' }),
        version: z.string().optional().meta({ description: 'Its Kubernetes version (GET /version).' }),
      })
      .optional()
      .meta({ description: 'The control plane as last reached.' }),
    servedAPIs: z.number().int().optional().meta({ description: 'Number of claim group/versions served.' }),
    apis: z
      .array(servedAPISchema)
      .optional()
      .meta({ description: 'Claim API group/versions served, one APIService each.' }),
    credentials: z
      .object({
        mode: z.string().optional().meta({ description: 'Scoped or Passthrough.' }),
        expiresAt: z
          .string()
          .meta({ format: 'date-time', description: 'Expiry of the Scoped token the proxy holds.' })
          .optional(),
      })
      .optional()
      .meta({ description: 'The credential handed to the proxy.' }),
    proxy: z
      .object({
        replicas: z.number().int().optional().meta({ description: 'Replicas of the proxy Deployment.' }),
        readyReplicas: z
          .number()
          .int()
          .optional()
          .meta({ description: 'Ready replicas of the proxy Deployment.' }),
      })
      .optional()
      .meta({ description: 'The proxy Deployment as last seen.' }),
  })
  .meta({ description: 'Observed state, written by the operator.' });

export type ControlPlaneConnectionSpec = z.infer<typeof specSchema>;
export type ControlPlaneConnectionStatus = z.infer<typeof statusSchema>;
export type Condition = z.infer<typeof conditionSchema>;

export interface ControlPlaneConnection {
  apiVersion: typeof apiVersion;
  kind: typeof kind;
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: unknown;
  status?: ControlPlaneConnectionStatus;
}

/**
 * Validates a spec as the operator sees it (after the API server's own validation and defaulting). Returns the
 * defaulted spec, or a precise message naming each offending field.
 */
export function parseSpec(
  spec: unknown,
): { ok: true; spec: ControlPlaneConnectionSpec } | { ok: false; message: string } {
  const result = specSchema.safeParse(spec);
  if (result.success) return { ok: true, spec: result.data };
  const message = result.error.issues
    .map(
      (issue) =>
        `spec${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`,
    )
    .join('; ');
  return { ok: false, message };
}
