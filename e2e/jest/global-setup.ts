// Starts the shared app + control-plane clusters once for the integration project: local processes, or kind
// clusters under `make e2e-kind`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEnvironment } from '../harness/environment.ts';
import { installControlPlaneFixtures } from '../harness/fixtures.ts';
import { provider } from '../harness/provider.ts';
import {
  crossplaneWanted,
  sharedEnvironmentVariable,
  type SharedCluster,
  type SharedEnvironment,
} from '../harness/shared.ts';
import { startKindEnvironment } from '../kind/clusters.ts';

declare global {
  var ctpE2EStop: (() => Promise<void>) | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const { shared, stop } = provider() === 'kind' ? await startKindEnvironment() : await startLocal();
  globalThis.ctpE2EStop = stop;
  await installControlPlaneFixtures(shared.clusters['control-plane']!);
  const file = join(shared.dir, 'shared.json');
  writeFileSync(file, JSON.stringify(shared));
  process.env[sharedEnvironmentVariable] = file;
  console.log(`\nshared ${shared.provider} clusters ready in ${Date.now() - started} ms (${shared.dir})`);
}

async function startLocal(): Promise<{ shared: SharedEnvironment; stop: () => Promise<void> }> {
  // Jest handles Ctrl-C itself; the watchdog cleans up if it dies.
  const env = await startEnvironment({
    names: ['app', 'control-plane'],
    handleSignals: false,
    // Real Crossplane in the shared control plane (e2e/harness/crossplane.ts), unless CTP_E2E_CROSSPLANE=0.
    crossplane: crossplaneWanted() ? ['control-plane'] : [],
  });
  const clusters = Object.values(env.clusters).map((c): [string, SharedCluster] => [
    c.name,
    {
      name: c.name,
      server: c.server,
      kubeconfigPath: c.kubeconfigPath,
      credentialKubeconfigPath: c.kubeconfigPath,
      dir: c.dir,
      servingCAPem: c.servingCA.certPem,
      ...(c.crossplane && { crossplane: true }),
    },
  ]);
  return {
    shared: { provider: 'local', dir: env.dir, clusters: Object.fromEntries(clusters) },
    stop: () => env.stop(),
  };
}
