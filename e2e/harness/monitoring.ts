// The Prometheus Operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule) from the release pinned in
// e2e/toolchain/prometheus-operator/go.mod, so the chart's and config/observability's monitoring objects are
// validated by their real schemas. `make tools` downloads the module; this finds it in the Go module cache.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlOk, type KubectlTarget } from './kubectl.ts';
import { repoRoot } from './paths.ts';

const operatorModule = 'github.com/prometheus-operator/prometheus-operator';
export const monitoringCRDs = ['servicemonitors', 'podmonitors', 'prometheusrules'];

function goBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/local/go/bin')) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  throw new Error('no Go toolchain on PATH or in /usr/local/go: it fetches the prometheus-operator CRDs');
}

/** The directory of the pinned module's CRD manifests (downloaded and verified against go.sum when missing). */
export function monitoringCRDDir(): string {
  const out = execFileSync(goBinary(), ['mod', 'download', '-json', operatorModule], {
    cwd: join(repoRoot, 'e2e', 'toolchain', 'prometheus-operator'),
    encoding: 'utf8',
  });
  const { Dir: dir, Error: error } = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!dir) throw new Error(`go mod download ${operatorModule}: ${error ?? 'no directory'}`);
  return join(dir, 'example', 'prometheus-operator-crd');
}

export async function installMonitoringCRDs(cluster: KubectlTarget): Promise<void> {
  const dir = monitoringCRDDir();
  for (const plural of monitoringCRDs) {
    await kubectlOk(cluster, [
      'apply',
      '--server-side',
      '-f',
      join(dir, `monitoring.coreos.com_${plural}.yaml`),
    ]);
  }
  await kubectlOk(cluster, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...monitoringCRDs.map((p) => `crd/${p}.monitoring.coreos.com`),
  ]);
}
