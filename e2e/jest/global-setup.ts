// Starts the shared app + control-plane clusters once for the integration project.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEnvironment, type Environment } from '../harness/environment.ts';
import { installControlPlaneFixtures } from '../harness/fixtures.ts';
import { sharedEnvironmentVariable, type SharedEnvironment } from '../harness/shared.ts';

declare global {
  var ctpE2EEnvironment: Environment | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  // Jest handles Ctrl-C itself; the watchdog cleans up if it dies.
  const env = await startEnvironment({ names: ['app', 'control-plane'], handleSignals: false });
  globalThis.ctpE2EEnvironment = env;
  await installControlPlaneFixtures(env.cluster('control-plane'));
  const shared: SharedEnvironment = {
    dir: env.dir,
    clusters: Object.fromEntries(
      Object.values(env.clusters).map((c) => [
        c.name,
        {
          name: c.name,
          server: c.server,
          kubeconfigPath: c.kubeconfigPath,
          dir: c.dir,
          servingCAPem: c.servingCA.certPem,
        },
      ]),
    ),
  };
  const file = join(env.dir, 'shared.json');
  writeFileSync(file, JSON.stringify(shared));
  process.env[sharedEnvironmentVariable] = file;
  console.log(`\nshared clusters ready in ${Date.now() - started} ms (${env.dir})`);
}
