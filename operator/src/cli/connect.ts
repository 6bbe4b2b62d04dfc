// `ctp-connector connect`: the control-plane credential Secret and a ControlPlaneConnection in the app cluster
// (server-side apply, field manager ctp-connector-cli), then wait for Ready and list the claim APIs it serves.
// Everything the user typed is validated before anything is created.
import { readFileSync } from 'node:fs';
import * as api from '../api/connection.ts';
import {
  checkReachable,
  clientFor,
  ConditionError,
  credentialFromKubeconfig,
  kubeconfigFor,
  type Credential,
} from '../connection/credentials.ts';
import { managedByLabels } from '../connection/names.ts';
import { shortName } from '../catalog/names.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';
import { apply, type KubeObject } from '../kube/resources.ts';
import type { ConnectOptions } from './args.ts';
import { appClusterClient } from './appcluster.ts';
import {
  getConnection,
  readiness,
  requireConnectionAPI,
  watchConnection,
  type Connection,
} from './connections.ts';
import { CliError, usageError } from './exit.ts';
import { json, progress, table, yaml, type CliIO } from './output.ts';

/**
 * The CLI's field manager. Not the operator's "ctp-connector": the operator applies the connection's finalizer
 * under that one, and an apply drops whatever its manager applied before and omits now — the spec, here.
 */
export const cliFieldManager = 'ctp-connector-cli';

/** Marks the credential Secret as made by the CLI for one connection (which also owns it). */
export const credentialsForAnnotation = 'connect.ctp.dev/credentials-for';

export function credentialSecretName(connection: string): string {
  return `ctpc-${shortName(connection, 40)}-control-plane`;
}

/**
 * Reads and checks the control-plane kubeconfig file, and reduces it to its current context with embedded
 * credentials: the only part that goes into the app cluster. Throws a usage error naming what is wrong.
 */
export function readControlPlaneKubeconfig(path: string): { credential: Credential; kubeconfig: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`cannot read the control-plane kubeconfig ${path}: ${(err as Error).message}`);
  }
  try {
    const credential = credentialFromKubeconfig(text, path);
    return { credential, kubeconfig: yamlKubeconfig(credential) };
  } catch (err) {
    if (err instanceof ConditionError) throw usageError(err.message);
    throw err;
  }
}

/** A self-contained kubeconfig for a credential, as YAML. */
export function yamlKubeconfig(credential: Credential): string {
  return yaml(JSON.parse(kubeconfigFor(credential)));
}

export interface ConnectObjects {
  secret: KubeObject & { stringData: Record<string, string> };
  connection: KubeObject & { spec: Record<string, unknown> };
}

/** The two objects `connect` applies; only the flags the user gave are set, the rest is the API's default. Pure. */
export function connectObjects(options: ConnectOptions, kubeconfig: string): ConnectObjects {
  const secretName = credentialSecretName(options.name);
  const spec: Record<string, unknown> = {
    controlPlane: { kubeconfigSecretRef: { namespace: options.namespace, name: secretName, key: 'value' } },
    targetNamespace: options.targetNamespace,
    ...(options.clusterID ? { clusterID: options.clusterID } : {}),
    ...(options.credentialsMode ? { credentials: { mode: options.credentialsMode } } : {}),
    ...(options.deletionPolicy ? { deletionPolicy: options.deletionPolicy } : {}),
  };
  const parsed = api.parseSpec(spec);
  if (!parsed.ok) throw usageError(parsed.message);
  return {
    secret: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secretName,
        namespace: options.namespace,
        labels: { ...managedByLabels },
        annotations: { [credentialsForAnnotation]: options.name },
      },
      type: 'Opaque',
      stringData: { value: kubeconfig },
    },
    connection: { apiVersion: api.apiVersion, kind: api.kind, metadata: { name: options.name }, spec },
  };
}

export async function runConnect(options: ConnectOptions, io: CliIO): Promise<void> {
  const { credential, kubeconfig } = readControlPlaneKubeconfig(options.controlPlaneKubeconfig);
  const objects = connectObjects(options, kubeconfig);
  const say = progress(io);
  await checkControlPlane(credential, say);

  const app = appClusterClient(options.app);
  try {
    await requireConnectionAPI(app);
    // Owned by the connection, so the garbage collector removes the credential once the connection is gone. A
    // new connection has no UID yet: its Secret comes first (the operator needs it) and is adopted right after.
    const existing = await getConnection(app, options.name);
    await applySecret(app, ownedSecret(objects.secret, existing));
    say(`applied Secret ${options.namespace}/${objects.secret.metadata.name} (the control-plane kubeconfig)`);
    const connection = await apply(app, objects.connection, undefined, cliFieldManager);
    say(`applied ControlPlaneConnection ${options.name} (targetNamespace ${options.targetNamespace})`);
    if (!existing) await apply(app, ownedSecret(objects.secret, connection), undefined, cliFieldManager);
    say(`waiting up to ${Math.round(options.timeoutMs / 1000)}s for ${options.name} to become Ready`);
    const ready = await watchConnection(app, options.name, {
      timeoutMs: options.timeoutMs,
      what: `ControlPlaneConnection ${options.name} to become Ready`,
      report: (line) => say(line),
      now: io.now,
      until: (c) => {
        if (!c) throw new CliError(`ControlPlaneConnection ${options.name} was deleted while waiting`);
        const state = readiness(c);
        if (state.state === 'Stalled') {
          throw new CliError(
            `ControlPlaneConnection ${options.name} is stalled (${state.reason}): ${state.message}`,
          );
        }
        return state.state === 'Ready' ? c : undefined;
      },
    });
    io.stdout(options.output === 'json' ? json(connectResult(ready)) : renderConnected(ready));
  } finally {
    await app.close();
  }
}

/**
 * Tries the credential from here. A rejected credential or an unverifiable certificate is the user's input being
 * wrong, so nothing is created; an unreachable server may still be reachable from inside the cluster.
 */
async function checkControlPlane(credential: Credential, say: (line: string) => void): Promise<void> {
  const client = clientFor(credential);
  try {
    const version = await checkReachable(client);
    say(`control plane ${credential.server} answers (Kubernetes ${version})`);
  } catch (err) {
    if (err instanceof ConditionError && err.stalled)
      throw usageError(`control-plane kubeconfig: ${err.message}`);
    say(`warning: cannot reach ${credential.server} from here (${(err as Error).message}); the operator may`);
  } finally {
    await client.close();
  }
}

function ownedSecret(secret: KubeObject, owner: Pick<KubeObject, 'metadata'> | undefined): KubeObject {
  if (!owner?.metadata.uid) return secret;
  const ref = {
    apiVersion: api.apiVersion,
    kind: api.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
  };
  return { ...secret, metadata: { ...secret.metadata, ownerReferences: [ref] } };
}

async function applySecret(app: KubeClient, secret: KubeObject): Promise<void> {
  try {
    await apply(app, secret, undefined, cliFieldManager);
  } catch (err) {
    if (isNotFound(err)) {
      throw new CliError(
        `namespace ${secret.metadata.namespace} does not exist in ${app.server}: is the operator installed there? (--namespace)`,
      );
    }
    throw err;
  }
}

export interface ConnectResult {
  name: string;
  ready: true;
  message: string;
  clusterID?: string;
  controlPlane?: string;
  targetNamespace?: string;
  apis: NonNullable<api.ControlPlaneConnectionStatus['apis']>;
}

export function connectResult(connection: Connection): ConnectResult {
  const spec = connection.spec as { targetNamespace?: string } | undefined;
  return {
    name: connection.metadata.name,
    ready: true,
    message: readiness(connection).message,
    clusterID: connection.status?.clusterID,
    controlPlane: connection.status?.controlPlane?.server,
    targetNamespace: spec?.targetNamespace,
    apis: connection.status?.apis ?? [],
  };
}

/** The human summary: what is connected, and the claim APIs now available, as a table. Pure. */
export function renderConnected(connection: Connection): string {
  const result = connectResult(connection);
  const head =
    `ControlPlaneConnection ${result.name} is Ready: ${result.message}\n` +
    `Claims of this cluster (ID ${result.clusterID ?? 'unknown'}) live in control-plane namespace ${result.targetNamespace ?? 'unknown'}.\n`;
  if (result.apis.length === 0) return `${head}The control plane offers no claim APIs yet.\n`;
  return `${head}\nClaim APIs now available in this cluster:\n${apisTable(result.apis)}`;
}

export function apisTable(apis: ConnectResult['apis']): string {
  return table(
    ['GROUP/VERSION', 'KINDS', 'APISERVICE', 'AVAILABLE'],
    apis.map((a) => [
      `${a.group}/${a.version}`,
      a.kinds.join(','),
      a.apiService,
      a.available ? 'True' : 'False',
    ]),
  );
}
