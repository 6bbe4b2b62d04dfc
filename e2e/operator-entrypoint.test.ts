// `ctp-connector operator` as a process: it takes the leader lease, and on SIGTERM stops its controllers,
// releases the lease for a fast hand-over and exits 0.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { operatorNamespace, prepareConnector, spawnOperatorProcess } from './harness/connector.ts';
import { kubectl } from './harness/kubectl.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');

async function leaseHolder(): Promise<string | undefined> {
  const result = await kubectl(app, [
    '-n',
    operatorNamespace,
    'get',
    'lease',
    'ctp-connector-operator',
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  return result.code === 0 ? result.stdout : undefined;
}

describe('operator entry point', () => {
  beforeAll(() => prepareConnector(app, controlPlaneCredential(cp)));

  it('leads via the Lease and shuts down cleanly on SIGTERM, releasing it', async () => {
    const child = spawnOperatorProcess(app, { leaderElect: true, localProxyPort: 1 });
    const output: string[] = [];
    child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const holder = await waitFor(async () => (await leaseHolder()) || undefined, {
        timeoutMs: 30_000,
        what: 'the operator to lead',
      });
      expect(holder).toMatch(/_[0-9a-f]{8}$/);
      await waitFor(() => (output.join('').includes('caches synced') ? true : undefined), {
        timeoutMs: 30_000,
        what: 'the controller to start',
      });

      const stopping = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) console.log(output.join(''));
      expect(code).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(15_000);
      expect(await leaseHolder()).toBe('');
      const logs = output.join('');
      expect(logs).toContain('"msg":"released leadership"');
      // Logs are JSON lines and carry no secret material.
      expect(logs).not.toMatch(/BEGIN (CERTIFICATE|PRIVATE KEY)|client-key-data|"token":"[^[]/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
