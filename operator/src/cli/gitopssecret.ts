// `ctp-connector gitops-secret`: for teams that point Argo CD or Flux straight at the control plane, the Secret
// each tool reads a remote cluster from, built from a control-plane kubeconfig (its current context only). Pure
// apart from reading the file.
import type { Credential } from '../connection/credentials.ts';
import type { KubeObject } from '../kube/resources.ts';
import type { GitopsSecretOptions } from './args.ts';
import { readControlPlaneKubeconfig, yamlKubeconfig } from './connect.ts';
import { json, yaml, type CliIO } from './output.ts';

type Secret = KubeObject & { type: string; stringData: Record<string, string> };

export const argoCDSecretTypeLabel = 'argocd.argoproj.io/secret-type';

/** Argo CD's cluster config (the `config` key): TLS data base64-encoded, as its Go []byte fields marshal. */
export interface ArgoCDClusterConfig {
  bearerToken?: string;
  tlsClientConfig: { insecure: boolean; caData?: string; certData?: string; keyData?: string };
}

export function argoCDClusterConfig(credential: Credential): ArgoCDClusterConfig {
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  return {
    ...(credential.token ? { bearerToken: credential.token } : {}),
    tlsClientConfig: {
      insecure: credential.insecureSkipTLSVerify ?? false,
      ...(credential.caPem ? { caData: b64(credential.caPem) } : {}),
      ...(credential.clientCertPem ? { certData: b64(credential.clientCertPem) } : {}),
      ...(credential.clientKeyPem ? { keyData: b64(credential.clientKeyPem) } : {}),
    },
  };
}

/** An Argo CD declarative cluster Secret: labelled as a cluster, with name, server and config. */
export function argoCDClusterSecret(credential: Credential, name: string, namespace: string): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { [argoCDSecretTypeLabel]: 'cluster' } },
    type: 'Opaque',
    stringData: {
      name,
      server: credential.server,
      config: JSON.stringify(argoCDClusterConfig(credential), null, 2),
    },
  };
}

/** A Secret for Flux's `spec.kubeConfig.secretRef`: a self-contained kubeconfig under the key "value". */
export function fluxKubeconfigSecret(credential: Credential, name: string, namespace: string): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'Opaque',
    stringData: { value: yamlKubeconfig(credential) },
  };
}

export const defaultGitopsNamespace = { argocd: 'argocd', flux: 'flux-system' } as const;

export function runGitopsSecret(options: GitopsSecretOptions, io: CliIO): Promise<void> {
  const { credential } = readControlPlaneKubeconfig(options.controlPlaneKubeconfig);
  const namespace = options.namespace ?? defaultGitopsNamespace[options.tool];
  const secret =
    options.tool === 'argocd'
      ? argoCDClusterSecret(credential, options.name, namespace)
      : fluxKubeconfigSecret(credential, options.name, namespace);
  io.stdout(options.output === 'json' ? json(secret) : yaml(secret));
  return Promise.resolve();
}
