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
  /** True when the cluster runs Crossplane (the local control plane, unless CTP_E2E_CROSSPLANE=0). */
  crossplane?: boolean;
}

export interface SharedEnvironment {
  provider: Provider;
  dir: string;
  clusters: Record<string, SharedCluster>;
}

/**
 * The shared local control plane runs real Crossplane and the test composition function; `CTP_E2E_CROSSPLANE=0`
 * gives it the hand-written claim CRDs of e2e/fixtures/control-plane instead (nobody else writes claims then).
 */
export const crossplaneVariable = 'CTP_E2E_CROSSPLANE';

/** Whether the shared local control plane is to run Crossplane (read by the global setup). */
export const crossplaneWanted = (): boolean => process.env[crossplaneVariable] !== '0';

/** Whether the shared control plane runs Crossplane, as the global setup started it (kind clusters do not). */
export const sharedCrossplane = (): boolean => sharedCluster('control-plane').crossplane === true;

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
