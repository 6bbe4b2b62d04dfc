// Kubeconfig documents and in-cluster configuration, read into the one cluster and user a client talks to. Our own
// reader instead of client-node's KubeConfig: that class loads every generated API client and model with it
// (about 80 MiB of RSS in each operator and proxy process) for the few fields below. Parsing and choosing a
// context are pure; only the loaders at the end touch files and the environment.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { load } from 'js-yaml';
import { z } from 'zod';

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  provideClusterInfo: boolean;
}

export interface ClusterConfig {
  name: string;
  server: string;
  /** PEM, from certificate-authority-data. */
  caData?: string;
  /** A path (absolute: relative ones are resolved against the kubeconfig's directory). */
  caFile?: string;
  insecureSkipTLSVerify: boolean;
  tlsServerName?: string;
}

export interface UserConfig {
  name: string;
  token?: string;
  tokenFile?: string;
  certData?: string;
  certFile?: string;
  keyData?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  /** The name of a legacy auth-provider (gcp, azure, oidc): clients refuse it (authn.ts). */
  authProvider?: string;
  impersonate?: { user?: string; uid?: string; groups: string[]; extra: Record<string, string[]> };
}

export interface Kubeconfig {
  clusters: ReadonlyMap<string, ClusterConfig>;
  users: ReadonlyMap<string, UserConfig>;
  contexts: ReadonlyMap<string, { cluster: string; user: string; namespace?: string }>;
  currentContext?: string;
}

/** What a client needs: the cluster and the user of one context. */
export interface ClusterAccess {
  context: string;
  cluster: ClusterConfig;
  user: UserConfig;
}

/** A list of named entries (clusters, users, contexts). */
const entries = <S extends z.ZodRawShape>(shape: S) =>
  z.array(z.looseObject({ name: z.string().min(1), ...shape })).nullish();

const pem = z.string().transform((data) => Buffer.from(data, 'base64').toString('utf8'));

const document = z.looseObject({
  clusters: entries({
    cluster: z.looseObject({
      server: z.string().min(1),
      'certificate-authority-data': pem.optional(),
      'certificate-authority': z.string().optional(),
      'insecure-skip-tls-verify': z.boolean().optional(),
      'tls-server-name': z.string().optional(),
      'proxy-url': z.string().optional(),
    }),
  }),
  users: entries({
    user: z
      .looseObject({
        token: z.string().optional(),
        tokenFile: z.string().optional(),
        'client-certificate-data': pem.optional(),
        'client-certificate': z.string().optional(),
        'client-key-data': pem.optional(),
        'client-key': z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        as: z.string().optional(),
        'as-uid': z.string().optional(),
        'as-groups': z.array(z.string()).nullish(),
        'as-user-extra': z.record(z.string(), z.array(z.string())).nullish(),
        'auth-provider': z.looseObject({ name: z.string() }).nullish(),
        exec: z
          .looseObject({
            apiVersion: z.string(),
            command: z.string().min(1),
            args: z.array(z.string()).nullish(),
            env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
            provideClusterInfo: z.boolean().optional(),
          })
          .nullish(),
      })
      .nullish(),
  }),
  contexts: entries({
    context: z.looseObject({
      cluster: z.string(),
      user: z.string().optional(),
      namespace: z.string().optional(),
    }),
  }),
  'current-context': z.string().nullish(),
});

/** Parses one kubeconfig document. Relative file paths resolve against `baseDir`, as kubectl resolves them. Pure. */
export function parseKubeconfig(text: string, baseDir = '.'): Kubeconfig {
  let raw: unknown;
  try {
    raw = load(text);
  } catch (err) {
    throw new KubeconfigError(`not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (raw === undefined || raw === null) raw = {};
  const parsed = document.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KubeconfigError(`${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'invalid'}`);
  }
  const doc = parsed.data;
  const file = (path: string | undefined) =>
    path === undefined || path === '' || isAbsolute(path) ? path || undefined : join(baseDir, path);
  const clusters = new Map<string, ClusterConfig>();
  for (const { name, cluster: c } of doc.clusters ?? []) {
    if (clusters.has(name)) continue;
    if (c['proxy-url']) throw new KubeconfigError(`cluster "${name}": proxy-url is not supported`);
    clusters.set(name, {
      name,
      server: c.server.replace(/\/+$/, ''),
      caData: c['certificate-authority-data'],
      caFile: file(c['certificate-authority']),
      insecureSkipTLSVerify: c['insecure-skip-tls-verify'] ?? false,
      tlsServerName: c['tls-server-name'],
    });
  }
  const users = new Map<string, UserConfig>();
  for (const { name, user: u } of doc.users ?? []) {
    if (users.has(name)) continue;
    const impersonating = u?.as || u?.['as-uid'] || u?.['as-groups']?.length;
    users.set(name, {
      name,
      token: u?.token || undefined,
      tokenFile: file(u?.tokenFile),
      certData: u?.['client-certificate-data'],
      certFile: file(u?.['client-certificate']),
      keyData: u?.['client-key-data'],
      keyFile: file(u?.['client-key']),
      username: u?.username,
      password: u?.password,
      authProvider: u?.['auth-provider']?.name,
      exec: u?.exec
        ? {
            apiVersion: u.exec.apiVersion,
            command: u.exec.command,
            args: u.exec.args ?? [],
            env: u.exec.env ?? [],
            provideClusterInfo: u.exec.provideClusterInfo ?? false,
          }
        : undefined,
      impersonate: impersonating
        ? {
            user: u.as,
            uid: u['as-uid'],
            groups: u['as-groups'] ?? [],
            extra: u['as-user-extra'] ?? {},
          }
        : undefined,
    });
  }
  const contexts = new Map<string, { cluster: string; user: string; namespace?: string }>();
  for (const { name, context } of doc.contexts ?? []) {
    if (!contexts.has(name))
      contexts.set(name, {
        cluster: context.cluster,
        user: context.user ?? '',
        namespace: context.namespace,
      });
  }
  return { clusters, users, contexts, currentContext: doc['current-context'] || undefined };
}

/** Several kubeconfigs as one, as kubectl merges KUBECONFIG: the first to define a name, or the current context, wins. */
export function mergeKubeconfigs(configs: readonly Kubeconfig[]): Kubeconfig {
  const first = <V>(pick: (c: Kubeconfig) => ReadonlyMap<string, V>) => {
    const merged = new Map<string, V>();
    for (const config of configs)
      for (const [name, value] of pick(config)) if (!merged.has(name)) merged.set(name, value);
    return merged;
  };
  return {
    clusters: first((c) => c.clusters),
    users: first((c) => c.users),
    contexts: first((c) => c.contexts),
    currentContext: configs.find((c) => c.currentContext)?.currentContext,
  };
}

/** The cluster and user of `context` (default: the current context), or a KubeconfigError that says what is missing. */
export function selectContext(config: Kubeconfig, context = config.currentContext): ClusterAccess {
  if (!context) throw new KubeconfigError('no current context (current-context is not set)');
  const entry = config.contexts.get(context);
  if (!entry) {
    const known = [...config.contexts.keys()].join(', ') || 'none';
    throw new KubeconfigError(`context "${context}" does not exist (have: ${known})`);
  }
  const cluster = config.clusters.get(entry.cluster);
  if (!cluster) throw new KubeconfigError(`context "${context}": cluster "${entry.cluster}" does not exist`);
  if (!/^https?:\/\//.test(cluster.server))
    throw new KubeconfigError(`cluster "${cluster.name}": server "${cluster.server}" is not an http(s) URL`);
  const user = entry.user === '' ? { name: '' } : config.users.get(entry.user);
  if (!user) throw new KubeconfigError(`context "${context}": user "${entry.user}" does not exist`);
  return { context, cluster, user };
}

// ---- Loading (files and environment) ----

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A kubeconfig file. */
export function readKubeconfig(path: string): Kubeconfig {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return parseKubeconfig(text, dirname(path));
  } catch (err) {
    throw new KubeconfigError(`${path}: ${(err as Error).message}`);
  }
}

/** The Pod's own ServiceAccount, as client-go's rest.InClusterConfig reads it; undefined outside a Pod. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env): Kubeconfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(join(serviceAccountDir, 'token'))) return undefined;
  const name = 'in-cluster';
  return {
    clusters: new Map([
      [
        name,
        {
          name,
          server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
          caFile: join(serviceAccountDir, 'ca.crt'),
          insecureSkipTLSVerify: false,
        },
      ],
    ]),
    users: new Map([[name, { name, tokenFile: join(serviceAccountDir, 'token') }]]),
    contexts: new Map([[name, { cluster: name, user: name }]]),
    currentContext: name,
  };
}

/**
 * What kubectl would use: `path` if given, else the files of KUBECONFIG merged (missing ones skipped), else
 * ~/.kube/config, else the Pod's ServiceAccount.
 */
export function loadKubeconfig(path?: string, env: NodeJS.ProcessEnv = process.env): Kubeconfig {
  if (path) return readKubeconfig(path);
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '' && existsSync(p));
  if (listed.length > 0) return mergeKubeconfigs(listed.map(readKubeconfig));
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return readKubeconfig(home);
  const inCluster = inClusterConfig(env);
  if (inCluster) return inCluster;
  throw new KubeconfigError(
    'no kubeconfig: --kubeconfig, KUBECONFIG and ~/.kube/config name none, and not in a Pod',
  );
}
