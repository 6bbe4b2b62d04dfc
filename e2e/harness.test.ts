// The local cluster harness itself: clusters are real and independent, and nothing outlives them — not on a
// clean stop, not when startup fails, and not when the process that started them is killed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { binaryPath } from './harness/binaries.ts';
import { startEnvironment, stateFile } from './harness/environment.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { repoRoot } from './harness/paths.ts';
import { portIsFree } from './harness/ports.ts';
import { groupAlive } from './harness/processes.ts';
import { waitFor } from './harness/wait.ts';

describe('local cluster harness', () => {
  it('starts independent clusters and leaves no process, port or directory behind on stop', async () => {
    const env = await startEnvironment({ names: ['one', 'two'], handleSignals: false });
    const one = env.cluster('one');
    const two = env.cluster('two');
    try {
      expect(one.server).not.toBe(two.server);
      // Independent: a namespace created in one cluster does not exist in the other.
      await kubectlOk(one, ['create', 'namespace', 'only-in-one']);
      await expect(kubectlOk(two, ['get', 'namespace', 'only-in-one'])).rejects.toThrow(/NotFound/);
      // The controller-manager runs: a new namespace gets its default ServiceAccount.
      await waitFor(
        async () =>
          (await one.request('GET', '/api/v1/namespaces/only-in-one/serviceaccounts/default')).status === 200
            ? true
            : undefined,
        {
          timeoutMs: 30_000,
          what: 'the default ServiceAccount',
        },
      );
      const version = JSON.parse((await one.request('GET', '/version')).body) as { gitVersion: string };
      expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    } finally {
      await env.stop();
    }
    const pids = [...one.processes, ...two.processes].map((p) => p.pid);
    expect(pids).toHaveLength(6);
    expect(pids.filter(groupAlive)).toEqual([]);
    const ports = [one, two].flatMap((c) => Object.values(c.ports));
    const busy = [];
    for (const port of ports) if (!(await portIsFree(port))) busy.push(port);
    expect(busy).toEqual([]);
    expect(existsSync(env.dir)).toBe(false);
  });

  it('cleans up and reports the log when a component fails to start', async () => {
    const assets = mkdtempSync(join(tmpdir(), 'ctp-broken-assets-'));
    const saved = process.env.KUBEBUILDER_ASSETS;
    try {
      symlinkSync(binaryPath('etcd'), join(assets, 'etcd'));
      const broken = join(assets, 'kube-apiserver');
      writeFileSync(broken, '#!/bin/sh\necho "deliberately broken apiserver" >&2\nexit 3\n', { mode: 0o755 });
      process.env.KUBEBUILDER_ASSETS = assets;
      const dir = join(assets, 'env');
      await expect(startEnvironment({ names: ['broken'], dir, handleSignals: false })).rejects.toThrow(
        /kube-apiserver exited \(3\)[\s\S]*deliberately broken apiserver/,
      );
      expect(existsSync(dir)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.KUBEBUILDER_ASSETS;
      else process.env.KUBEBUILDER_ASSETS = saved;
      rmSync(assets, { recursive: true, force: true });
    }
  });

  it('tears the clusters down when the process that started them is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctp-orphan-'));
    const envDir = join(dir, 'clusters');
    const child = spawn(process.execPath, [join(repoRoot, 'e2e', 'cli.ts'), 'up', '--dir', dir, 'orphan'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitFor(() => (existsSync(join(envDir, stateFile)) ? true : undefined), {
        timeoutMs: 90_000,
        what: 'the child to start its cluster',
      });
      const state = JSON.parse(readFileSync(join(envDir, stateFile), 'utf8')) as {
        clusters: Record<string, { pids: number[]; ports: Record<string, number> }>;
      };
      const pids = state.clusters.orphan?.pids ?? [];
      expect(pids).toHaveLength(3);
      expect(pids.every(groupAlive)).toBe(true);

      child.kill('SIGKILL');
      await waitFor(() => (pids.some(groupAlive) || existsSync(envDir) ? undefined : true), {
        timeoutMs: 30_000,
        what: 'the watchdog to stop the orphaned cluster',
      });
      for (const port of Object.values(state.clusters.orphan?.ports ?? {}))
        expect(await portIsFree(port)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
