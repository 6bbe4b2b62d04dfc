// The app + control-plane environment that jest's global setup starts once for all integration tests.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubectlTarget } from './kubectl.ts';
import type { Provider } from './provider.ts';

export interface SharedCluster extends KubectlTarget {
  name: string;
  server: string;
  servingCAPem: string;
  /** The kubeconfig the connector in the other cluster uses to reach this one (kind: the internal address). */
  credentialKubeconfigPath: string;
  /** True when the cluster runs Crossplane (CTP_E2E_CROSSPLANE=1 for the control plane). */
  crossplane?: boolean;
}

export interface SharedEnvironment {
  provider: Provider;
  dir: string;
  clusters: Record<string, SharedCluster>;
}

/**
 * `CTP_E2E_CROSSPLANE=1`: the shared local control plane runs real Crossplane instead of hand-written claim CRDs.
 * Not yet the default: e2e/finalization.test.ts and the suites not yet run against it still assume claims nobody else
 * writes (see the README).
 */
export const crossplaneVariable = 'CTP_E2E_CROSSPLANE';

/** Whether the shared local control plane runs Crossplane. */
export const sharedCrossplane = (): boolean => process.env[crossplaneVariable] === '1';

/** Environment variable naming the JSON file that describes the shared environment. */
export const sharedEnvironmentVariable = 'CTP_E2E_ENVIRONMENT';

export function sharedEnvironment(): SharedEnvironment {
  const path = process.env[sharedEnvironmentVariable];
  if (!path)
    throw new Error(
      `${sharedEnvironmentVariable} is not set: integration tests run through jest's global setup`,
    );
  return JSON.parse(readFileSync(path, 'utf8')) as SharedEnvironment;
}

export function sharedCluster(name: 'app' | 'control-plane'): SharedCluster {
  const cluster = sharedEnvironment().clusters[name];
  if (!cluster) throw new Error(`the shared environment has no cluster ${name}`);
  return cluster;
}

export function kubeConfigFor(cluster: { kubeconfigPath: string }): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  return kc;
}

/** The control plane's kubeconfig as the connector in the app cluster must use it (the credential Secret's value). */
export function controlPlaneCredential(cluster: SharedCluster): string {
  return readFileSync(cluster.credentialKubeconfigPath, 'utf8');
}
