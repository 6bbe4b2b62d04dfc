// The control-plane credential of a connection: read from the app cluster (a kubeconfig Secret, or server + CA +
// token Secret), checked, and turned into a client. Failures are classified into condition reasons, and marked
// stalled when only a human can fix them.
import type { ControlPlaneConnectionSpec } from '../api/connection.ts';
import { describeNetworkError, KubeApiError, kubeClient, type KubeClient } from '../kube/client.ts';
import { parseKubeconfig, selectContext, type ClusterAccess } from '../kube/kubeconfig.ts';
import { get, type KubeObject } from '../kube/resources.ts';
import type { ConditionReason } from './conditions.ts';
import { connectionLabel } from './names.ts';

/** A failure that becomes a condition: a CamelCase reason, a message for humans, and whether to stall. */
export class ConditionError extends Error {
  readonly reason: ConditionReason;
  readonly stalled: boolean;
  constructor(reason: ConditionReason, message: string, stalled: boolean) {
    super(message);
    this.name = 'ConditionError';
    this.reason = reason;
    this.stalled = stalled;
  }
}

/** What the proxy needs to reach the control plane; secret material, never logged. */
export interface Credential {
  server: string;
  caPem?: string;
  insecureSkipTLSVerify?: boolean;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

type SecretObject = KubeObject & { data?: Record<string, string>; type?: string };

/** Secret types a credential may have: what users create by hand or Cluster API writes; never tokens or releases. */
export const credentialSecretTypes = ['Opaque', 'cluster.x-k8s.io/secret'] as const;

/**
 * A Secret that may serve as a credential: of a credential type, and not one the connector owns (another
 * connection's scoped token would otherwise be sent to the server this spec names). Pure.
 */
export function checkCredentialSecret(where: string, secret: SecretObject): void {
  const type = secret.type || 'Opaque';
  if (!(credentialSecretTypes as readonly string[]).includes(type)) {
    throw new ConditionError(
      'CredentialNotAllowed',
      `${where} is of type ${type}: a credential Secret must be of type ${credentialSecretTypes.join(' or ')}`,
      true,
    );
  }
  const owner = secret.metadata.labels?.[connectionLabel];
  if (owner !== undefined) {
    throw new ConditionError(
      'CredentialNotAllowed',
      `${where} belongs to connection ${owner}: name a credential Secret you created`,
      true,
    );
  }
}

async function readSecretKey(
  app: KubeClient,
  ref: { namespace: string; name: string; key: string },
): Promise<string> {
  const secret = await get<SecretObject>(app, { apiVersion: 'v1', kind: 'Secret', metadata: ref });
  const where = `Secret ${ref.namespace}/${ref.name}`;
  if (!secret) throw new ConditionError('CredentialsNotFound', `${where} not found`, false);
  checkCredentialSecret(where, secret);
  const value = secret.data?.[ref.key];
  // The Secret's other keys are not named: status is readable by more people than the Secret.
  if (value === undefined)
    throw new ConditionError('CredentialsInvalid', `${where} has no key "${ref.key}"`, true);
  return Buffer.from(value, 'base64').toString('utf8');
}

export async function readCredential(
  app: KubeClient,
  spec: ControlPlaneConnectionSpec['controlPlane'],
): Promise<Credential> {
  if (spec.kubeconfigSecretRef) {
    const ref = spec.kubeconfigSecretRef;
    return credentialFromKubeconfig(
      await readSecretKey(app, ref),
      `Secret ${ref.namespace}/${ref.name} key "${ref.key}"`,
    );
  }
  if (spec.server && spec.tokenSecretRef) {
    const token = (await readSecretKey(app, spec.tokenSecretRef)).trim();
    if (!token) {
      throw new ConditionError(
        'CredentialsInvalid',
        `Secret ${spec.tokenSecretRef.namespace}/${spec.tokenSecretRef.name} holds an empty token`,
        true,
      );
    }
    return { server: spec.server, caPem: spec.caBundle ? decodeCABundle(spec.caBundle) : undefined, token };
  }
  throw new ConditionError('InvalidSpec', 'spec.controlPlane names no credential', true);
}

/** Parses a kubeconfig (its current context) into a self-contained credential. Pure. */
export function credentialFromKubeconfig(text: string, source: string): Credential {
  let access: ClusterAccess;
  try {
    const config = parseKubeconfig(text);
    if (!config.currentContext)
      throw new ConditionError('InvalidKubeconfig', `${source}: no current context with a cluster`, true);
    access = selectContext(config);
  } catch (err) {
    if (err instanceof ConditionError) throw err;
    throw new ConditionError(
      'InvalidKubeconfig',
      `${source}: not a kubeconfig: ${(err as Error).message}`,
      true,
    );
  }
  const { cluster, user } = access;
  if (!/^https:\/\//.test(cluster.server)) {
    throw new ConditionError(
      'InvalidKubeconfig',
      `${source}: server "${cluster.server}" is not an https:// URL`,
      true,
    );
  }
  if (user.exec || user.authProvider) {
    throw new ConditionError(
      'UnsupportedCredential',
      `${source}: user "${user.name}" uses an ${user.exec ? 'exec plugin' : 'auth provider'}; the proxy needs a token or client certificate`,
      true,
    );
  }
  const credential: Credential = {
    server: cluster.server,
    caPem: cluster.caData,
    insecureSkipTLSVerify: cluster.insecureSkipTLSVerify || undefined,
    token: user.token,
    clientCertPem: user.certData,
    clientKeyPem: user.keyData,
  };
  if (cluster.caFile || user.certFile || user.keyFile || user.tokenFile) {
    throw new ConditionError(
      'InvalidKubeconfig',
      `${source}: refers to files; embed the data (certificate-authority-data, token, ...)`,
      true,
    );
  }
  if (!credential.token && !(credential.clientCertPem && credential.clientKeyPem)) {
    throw new ConditionError(
      'InvalidKubeconfig',
      `${source}: user has neither a token nor a client certificate`,
      true,
    );
  }
  return credential;
}

/** The CA bundle of spec.caBundle may be PEM or base64 of PEM. */
export function decodeCABundle(value: string): string {
  if (value.includes('-----BEGIN')) return value;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  if (!decoded.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConditionError(
      'CredentialsInvalid',
      'spec.controlPlane.caBundle is neither PEM nor base64 of PEM',
      true,
    );
  }
  return decoded;
}

/** A kubeconfig document for a credential (what the proxy loads from the token Secret). */
export function kubeconfigFor(credential: Credential, contextName = 'control-plane'): string {
  const b64 = (s?: string) => (s ? Buffer.from(s).toString('base64') : undefined);
  const cluster: Record<string, unknown> = { server: credential.server };
  if (credential.caPem) cluster['certificate-authority-data'] = b64(credential.caPem);
  if (credential.insecureSkipTLSVerify) cluster['insecure-skip-tls-verify'] = true;
  const user: Record<string, unknown> = {};
  if (credential.token) user.token = credential.token;
  if (credential.clientCertPem) user['client-certificate-data'] = b64(credential.clientCertPem);
  if (credential.clientKeyPem) user['client-key-data'] = b64(credential.clientKeyPem);
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: contextName, cluster }],
    users: [{ name: contextName, user }],
    contexts: [{ name: contextName, context: { cluster: contextName, user: contextName } }],
    'current-context': contextName,
  });
}

export function clientFor(credential: Credential, userAgent = 'ctp-connector-operator'): KubeClient {
  return kubeClient(accessFor(credential), userAgent);
}

/** The cluster and user a credential stands for, as a kubeconfig of it would read. Pure. */
export function accessFor(credential: Credential): ClusterAccess {
  const name = 'control-plane';
  return {
    context: name,
    cluster: {
      name,
      server: credential.server.replace(/\/+$/, ''),
      caData: credential.caPem,
      insecureSkipTLSVerify: credential.insecureSkipTLSVerify ?? false,
    },
    user: {
      name,
      token: credential.token,
      certData: credential.clientCertPem,
      keyData: credential.clientKeyPem,
    },
  };
}

const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Reaches the control plane (GET /version) and classifies what went wrong. Returns its version. */
export async function checkReachable(controlPlane: KubeClient): Promise<string> {
  try {
    const version = await controlPlane.request<{ gitVersion?: string }>('GET', '/version', {
      timeoutMs: 10_000,
    });
    return version.gitVersion ?? 'unknown';
  } catch (err) {
    throw classifyControlPlaneError(err, controlPlane.server);
  }
}

export function classifyControlPlaneError(err: unknown, server: string): ConditionError {
  if (err instanceof ConditionError) return err;
  if (err instanceof KubeApiError) {
    if (err.code === 401) {
      return new ConditionError('Unauthorized', `${server} rejected the credential (401 Unauthorized)`, true);
    }
    if (err.code === 403) return new ConditionError('Forbidden', err.message, true);
    return new ConditionError('ControlPlaneError', err.message, false);
  }
  const cause = (err as { cause?: { cause?: { code?: string }; code?: string } }).cause;
  const code = cause?.cause?.code ?? cause?.code;
  if (code && tlsCodes.has(code)) {
    return new ConditionError(
      'ControlPlaneCertificateInvalid',
      `${server}: the server certificate does not verify against the configured CA (${code})`,
      true,
    );
  }
  const text = err instanceof Error ? err.message : String(err);
  return new ConditionError(
    'ControlPlaneUnreachable',
    `${server}: ${text || describeNetworkError(err)}`,
    false,
  );
}
