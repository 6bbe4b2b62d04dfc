// Leader election on a real Lease: one leader at a time, a fast hand-over on release, a crashed holder's lease
// respected until it expires on the candidate's own clock, and two operator processes that never write at once.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from '@jest/globals';
import { leaderElector, type Leadership } from '../operator/src/controller/leader.ts';
import { kubeconfigClient } from '../operator/src/kube/client.ts';
import { createLogger } from '../operator/src/log.ts';
import { startNodeScript } from './harness/connector-processes.ts';
import {
  connectionManifest,
  credentialSecret,
  impersonatingKubeconfig,
  mainScript,
  operatorNamespace,
  operatorProcessArgs,
  operatorServiceAccount,
  prepareConnector,
} from './harness/connector.ts';
import { pidFileName } from './harness/environment.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { freePorts } from './harness/ports.ts';
import { killGroup, type ManagedProcess } from './harness/processes.ts';
import { startRecordingProxy, type RecordedRequest } from './harness/recording-proxy.ts';
import { controlPlaneCredential, sharedCluster, sharedEnvironment } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const client = kubeconfigClient(app.kubeconfigPath);
const log = createLogger({ level: 'silent' });
const namespace = 'kube-system';
const timing = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

afterAll(() => client.close());

describe('leader election', () => {
  it('elects one leader and hands over promptly when it steps down', async () => {
    const name = 'election-handover';
    const a = leaderElector({ client, namespace, name, identity: 'a', log, ...timing });
    const b = leaderElector({ client, namespace, name, identity: 'b', log, ...timing });
    const leading: string[] = [];
    const lead = (id: string) => (leadership: Leadership) =>
      new Promise<void>((resolve) => {
        leading.push(id);
        leadership.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    const runA = a.run(lead('a'));
    await waitFor(() => (a.isLeader() ? true : undefined), { timeoutMs: 10_000, what: 'a to lead' });
    const runB = b.run(lead('b'));
    await new Promise((r) => setTimeout(r, 4_000)); // longer than the lease: a keeps renewing
    expect(leading).toEqual(['a']);
    expect(b.isLeader()).toBe(false);

    const handoverStart = Date.now();
    a.stop();
    expect(await runA).toBe('stopped');
    await waitFor(() => (b.isLeader() ? true : undefined), { timeoutMs: 10_000, what: 'b to take over' });
    // Released leases are free at once; b needs at most a retry period or two, not a lease duration.
    expect(Date.now() - handoverStart).toBeLessThan(timing.leaseDurationMs);
    expect(leading).toEqual(['a', 'b']);
    const lease = JSON.parse(await kubectlOk(app, ['get', 'lease', '-n', namespace, name, '-o', 'json'])) as {
      spec: { holderIdentity: string; leaseTransitions: number; renewTime: string };
    };
    expect(lease.spec.holderIdentity).toBe('b');
    expect(lease.spec.leaseTransitions).toBe(1);
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);
    b.stop();
    expect(await runB).toBe('stopped');
  });

  it('waits for a crashed holder’s lease to expire before taking over', async () => {
    const name = 'election-crashed';
    const stamp = new Date().toISOString().replace('Z', '000Z');
    await kubectlOk(
      app,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: 'crashed', leaseDurationSeconds: 3, acquireTime: stamp, renewTime: stamp },
      }),
    );
    const c = leaderElector({ client, namespace, name, identity: 'c', log, ...timing });
    const started = Date.now();
    const run = c.run(
      ({ signal }) =>
        new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
    );
    await waitFor(() => (c.isLeader() ? true : undefined), { timeoutMs: 15_000, what: 'c to take over' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    c.stop();
    await run;
  });
});

// Two operator processes on one Lease, the leader paused (SIGSTOP) until the standby has taken over, then resumed:
// every request either sends passes a recording proxy in front of each cluster's API server, named by the process's
// User-Agent, so the test sees each write when the API server did — and proves the old leader wrote nothing once the
// new one had acquired the lease, that the new one wrote nothing before, and that the old one exits.
describe('two operator processes and a paused leader', () => {
  const cp = sharedCluster('control-plane');
  const place = { dir: app.dir, pidFile: join(sharedEnvironment().dir, pidFileName) };
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${operatorNamespace}/leases`;
  const lease = { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '500ms' };
  const connections = ['paused-leader-0', 'paused-leader-1', 'paused-leader-2'];
  const isWrite = (r: RecordedRequest) => r.method !== 'GET' && r.method !== 'HEAD';
  const isLease = (r: RecordedRequest) => r.path.startsWith(leasePath);
  const timings: Record<string, number> = {};

  /** The identity a process campaigns with (its first log line about the lease). */
  const identityOf = (p: ManagedProcess) =>
    waitFor(
      () => {
        const line = readFileSync(p.logFile, 'utf8')
          .split('\n')
          .find((l) => l.includes('"msg":"campaigning for leadership"'));
        return line ? (JSON.parse(line) as { identity: string }).identity : undefined;
      },
      { timeoutMs: 30_000, what: `${p.name} to campaign (log: ${p.logFile})` },
    );
  const holder = async () =>
    (
      await client.request<{ spec: { holderIdentity?: string } }>(
        'GET',
        `${leasePath}/ctp-connector-operator`,
      )
    ).spec.holderIdentity;

  it('the old leader sends no write after the standby acquired the lease, and exits', async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    // The leader is paused the instant its write of a proxy's ClusterRoleBinding arrives: mid-reconcile, in the run of
    // the proxy's eight objects, so when it resumes that write's answer comes in with the next write right behind it,
    // before any timer of its own has run — only the fence before each request stops that one.
    let pause: { agent: string; pid: number; at?: number } | undefined;
    const pauseOnWrite = (r: RecordedRequest) => {
      if (!pause || pause.at !== undefined || r.userAgent !== pause.agent || !isWrite(r)) return;
      if (!r.path.includes('/clusterrolebindings/')) return;
      killGroup(pause.pid, 'SIGSTOP');
      pause.at = performance.now();
    };
    const appProxy = await startRecordingProxy(app.kubeconfigPath, pauseOnWrite);
    const cpProxy = await startRecordingProxy(cp.credentialKubeconfigPath, pauseOnWrite);
    const kubeconfig = join(app.dir, 'paused-leader-operator.kubeconfig');
    writeFileSync(kubeconfig, appProxy.kubeconfigFor(impersonatingKubeconfig(app, operatorServiceAccount)), {
      mode: 0o600,
    });
    await credentialSecret(app, 'recorded-control-plane', cpProxy.kubeconfigFor(cp.credentialKubeconfigPath));
    const [port] = (await freePorts(1)) as [number];
    const args = [
      ...operatorProcessArgs(app, { leaderElect: true, localProxyPort: port }).map((a) =>
        a.startsWith('--kubeconfig=') ? `--kubeconfig=${kubeconfig}` : a,
      ),
      `--leader-elect-lease-duration=${lease.leaseDuration}`,
      `--leader-elect-renew-deadline=${lease.renewDeadline}`,
      `--leader-elect-retry-period=${lease.retryPeriod}`,
    ];
    const processes = ['operator-a', 'operator-b'].map((name) =>
      startNodeScript(place, name, mainScript, args),
    );
    let poking = true;
    const pokes = (async () => {
      for (let n = 0; poking; n++) {
        await Promise.all(
          connections.map((c) =>
            client
              .request('PATCH', `/apis/connect.ctp.dev/v1alpha1/controlplaneconnections/${c}`, {
                body: { metadata: { annotations: { 'e2e.ctp.dev/poke': String(n) } } },
                contentType: 'application/merge-patch+json',
              })
              .catch(() => undefined),
          ),
        );
        await sleep(200);
      }
    })();
    try {
      const identities = await Promise.all(processes.map(identityOf));
      const ua = (i: number) => `ctp-connector-operator/${identities[i]}`;
      const first = await waitFor(
        async () => {
          const i = identities.indexOf((await holder()) ?? '');
          return i >= 0 ? i : undefined;
        },
        { timeoutMs: 30_000, what: 'one of them to lead' },
      );
      const leader = processes[first]!;
      const [leaderUA, standbyUA] = [ua(first), ua(1 - first)];
      const recorded = () => [...appProxy.requests, ...cpProxy.requests];
      const writesBy = (agent: string) => recorded().filter((r) => r.userAgent === agent && isWrite(r));

      for (const name of connections)
        await kubectlOk(
          app,
          ['apply', '-f', '-'],
          connectionManifest(name, {
            controlPlane: {
              kubeconfigSecretRef: { namespace: operatorNamespace, name: 'recorded-control-plane' },
            },
            targetNamespace: `team-${name}`,
            deletionPolicy: 'Detach',
          }),
        );
      // The leader is busy writing to both clusters when it is paused.
      await waitFor(
        () =>
          writesBy(leaderUA).filter((r) => !isLease(r)).length >= 30 &&
          cpProxy.requests.some((r) => r.userAgent === leaderUA && isWrite(r))
            ? true
            : undefined,
        { timeoutMs: 60_000, what: 'the leader to write to both clusters' },
      );
      pause = { agent: leaderUA, pid: leader.pid };
      try {
        const pausedAt = await waitFor(() => pause?.at, {
          timeoutMs: 30_000,
          what: 'a write to pause the leader at',
        });
        await waitFor(async () => ((await holder()) === identities[1 - first] ? true : undefined), {
          timeoutMs: 30_000,
          intervalMs: 50,
          what: 'the standby to take the lease over',
        });
        const tookOver = performance.now();
        await waitFor(
          () => (writesBy(standbyUA).filter((r) => !isLease(r)).length >= 30 ? true : undefined),
          {
            timeoutMs: 60_000,
            what: 'the new leader to write',
          },
        );
        timings.takeoverMs = Math.round(tookOver - pausedAt);
      } finally {
        killGroup(leader.pid, 'SIGCONT');
      }
      const resumedAt = performance.now();
      const giveUp = new AbortController();
      const code = await Promise.race([
        leader.exited,
        sleep(30_000, 'still running', { signal: giveUp.signal }).catch(() => 'exited'),
      ]);
      giveUp.abort();
      timings.exitAfterResumeMs = Math.round(performance.now() - resumedAt);
      expect(code).toBe(1);
      expect(leader.logTail(200)).toContain('lost leadership');
      await sleep(1_000); // whatever it sent before it died has reached the proxies

      // The standby's first successful lease write is the hand-over.
      const acquired = appProxy.requests.find(
        (r) =>
          r.userAgent === standbyUA && isLease(r) && isWrite(r) && r.status !== undefined && r.status < 300,
      );
      expect(acquired).toBeDefined();
      const late = writesBy(leaderUA).filter((r) => r.receivedAt >= acquired!.receivedAt);
      timings.oldLeaderWritesAfterTakeover = late.length;
      expect(late.map((r) => `${r.method} ${r.path}`)).toEqual([]);
      // Not even overlapping: each of its writes was stored before the hand-over began.
      const before = writesBy(leaderUA).filter((r) => !isLease(r));
      expect(before.length).toBeGreaterThanOrEqual(30);
      expect(before.filter((r) => !(r.answeredAt! < acquired!.receivedAt))).toEqual([]);
      timings.oldLeaderWrites = before.length;
      timings.lastOldWriteBeforeTakeoverMs = Math.round(
        acquired!.receivedAt - Math.max(...before.map((r) => r.answeredAt!)),
      );
      // And the new leader wrote nothing but lease attempts before it held the lease.
      const early = writesBy(standbyUA).filter((r) => !isLease(r) && r.receivedAt < acquired!.receivedAt);
      expect(early).toEqual([]);
      timings.newLeaderWrites = writesBy(standbyUA).filter((r) => !isLease(r)).length;
      process.stdout.write(`\npaused leader: ${JSON.stringify(timings)}\n`);

      poking = false;
      await pokes;
      await kubectlOk(app, ['delete', 'ctpc', ...connections, '--timeout=60s']);
    } catch (err) {
      // What each process said and sent, for the failure's report (their logs go with the environment).
      const sent = [...appProxy.requests, ...cpProxy.requests].reduce<Record<string, number>>((n, r) => {
        const key = `${r.userAgent} ${r.method}`;
        n[key] = (n[key] ?? 0) + 1;
        return n;
      }, {});
      for (const p of processes) process.stdout.write(`\n${p.name}:\n${p.logTail(40)}\n`);
      process.stdout.write(`requests: ${JSON.stringify(sent, null, 1)}\n`);
      throw err;
    } finally {
      poking = false;
      await pokes;
      await Promise.all(processes.map((p) => p.stop()));
      await appProxy.close();
      await cpProxy.close();
    }
  });
});
