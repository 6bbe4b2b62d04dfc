// A rolling restart of the two proxy replicas (processes sharing one port) while clients create, read, list and
// watch, with exact accounting of every request: each old replica reports not-ready, drains and exits 0, and not one
// request fails. (Faults of the control plane under load are in chaos.test.ts.)
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { claimManifest, type Claim } from './harness/claims.ts';
import { prepareConnector } from './harness/connector.ts';
import { kubectl } from './harness/kubectl.ts';
import { killGroup } from './harness/processes.ts';
import {
  connectWithProxyProcess,
  type ProcessConnection,
  type ProxyReplica,
} from './harness/proxy-process.ts';
import {
  endpointOf,
  rawClient,
  type RawAnswer,
  type RawClient,
  type RawStream,
} from './harness/raw-https.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';
import { codeOf, collection, send, storedNames } from './harness/writeload.ts';

const app = sharedCluster('app');

/** The first claim through a new APIService: kube-apiserver needs a moment to route it. */
async function firstClaim(client: RawClient, ns: string, name: string): Promise<void> {
  await waitFor(
    async () => {
      const code = codeOf(await send(client, 'POST', collection(ns), claimManifest({ name, namespace: ns })));
      if (code === 201 || code === 409) return true;
      throw new Error(`create answered ${code}`);
    },
    { timeoutMs: 60_000, what: `the first claim in ${ns}` },
  );
}

const sorted = (names: Iterable<string>) => [...names].sort();

/** A replica's log lines above info level (JSON lines: {"level":"warn",...}). */
function warnings(replica: ProxyReplica): string {
  const lines = readFileSync(replica.process.logFile, 'utf8')
    .split('\n')
    .filter((l) => /"level":"(warn|error|fatal)"/.test(l));
  return `${replica.process.name}:\n${lines.join('\n')}`;
}

describe('rolling restart of two proxy replicas under load', () => {
  const target = 'team-rolling';
  const ns = 'rolling-shop';
  const replicaArgs = ['--reuse-port', '--shutdown-delay-seconds=5'];
  let connection: ProcessConnection;
  let replicas: ProxyReplica[];
  const everyReplica: ProxyReplica[] = [];
  let client: RawClient;
  let watchClient: RawClient;

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(sharedCluster('control-plane')));
    const connected = await connectWithProxyProcess(
      app,
      'rolling',
      { targetNamespace: target, deletionPolicy: 'Delete' },
      { args: replicaArgs },
    );
    connection = connected;
    replicas = [connected.first, await connection.startReplica({ args: replicaArgs })];
    everyReplica.push(...replicas);
    await kubectl(app, ['create', 'namespace', ns]);
    client = rawClient(endpointOf(app.kubeconfigPath), { keepAlive: true });
    watchClient = rawClient(endpointOf(app.kubeconfigPath));
    await firstClaim(client, ns, 'first');
  }, 180_000);

  afterAll(async () => {
    await connection?.stop();
    await kubectl(app, ['delete', 'namespace', ns, '--wait=false']);
    client?.close();
    watchClient?.close();
  });

  it('replaces both replicas one after the other without failing a request or losing a watch event', async () => {
    const failures: { what: string; code: number; message: string }[] = [];
    const created: string[] = [];
    let requests = 0;
    let stopping = false;

    // No retries: every request must succeed the first time.
    const ok = async (what: string, method: string, path: string, expected: number, body?: unknown) => {
      requests++;
      const answer = await send(client, method, path, body);
      if (codeOf(answer) === expected) return true;
      failures.push({
        what,
        code: codeOf(answer),
        message: 'failed' in answer ? answer.failed : answer.text.slice(0, 600),
      });
      return false;
    };
    const worker = async (id: number) => {
      for (let n = 0; !stopping; n++) {
        const name = `r${id}-${n}`;
        if (await ok(`create ${name}`, 'POST', collection(ns), 201, claimManifest({ name, namespace: ns })))
          created.push(name);
        await ok(`get ${name}`, 'GET', `${collection(ns)}/${name}`, 200);
        await ok('list', 'GET', collection(ns), 200);
      }
    };

    // A reflector-like watch: whenever the server ends it, it resumes from the last resourceVersion it saw.
    const list = JSON.parse(((await send(client, 'GET', collection(ns))) as RawAnswer).text) as {
      metadata: { resourceVersion: string };
    };
    let lastRV = list.metadata.resourceVersion;
    const added: string[] = [];
    let resumed = 0;
    let current: RawStream | undefined;
    let watchDone = false;
    const watching = (async () => {
      while (!watchDone) {
        try {
          current = await watchClient.stream({
            path: `${collection(ns)}?watch=true&allowWatchBookmarks=true&resourceVersion=${lastRV}`,
          });
        } catch (err) {
          failures.push({ what: 'watch', code: 0, message: String(err) });
          await sleep(200);
          continue;
        }
        if (current.status !== 200) {
          failures.push({
            what: 'watch',
            code: current.status,
            message: (await current.ended).slice(0, 600),
          });
          await sleep(200);
          continue;
        }
        let read = 0;
        const drain = () => {
          for (; read < current!.events.length; read++) {
            const event = current!.events[read]!;
            const object = event.object as unknown as Claim & { metadata: { resourceVersion: string } };
            if (event.type === 'ERROR') {
              failures.push({ what: 'watch event', code: 0, message: JSON.stringify(event.object) });
              continue;
            }
            lastRV = object.metadata.resourceVersion;
            if (event.type === 'ADDED') added.push(object.metadata.name);
          }
        };
        let ended = false;
        void current.ended.then(() => (ended = true));
        while (!ended && !watchDone) {
          drain();
          await sleep(50);
        }
        drain();
        current.close();
        if (!watchDone) resumed++;
      }
    })();
    const workers = Promise.all([1, 2, 3].map(worker));

    const exitCodes: (number | string)[] = [];
    const readyzAfterTerm: number[] = [];
    const phases: string[] = [];
    await sleep(2_000);
    for (let i = 0; i < replicas.length; i++) {
      const old = replicas[i]!;
      const terminated = Date.now();
      killGroup(old.process.pid, 'SIGTERM');
      // Not ready at once (the Service stops sending new connections), while it still drains.
      readyzAfterTerm.push(
        await waitFor(
          async () => {
            const r = await fetch(`http://${old.metricsAddress}/readyz`);
            return r.status === 503 ? r.status : undefined;
          },
          { timeoutMs: 2_000, intervalMs: 100, what: `replica ${i + 1} to report not-ready` },
        ).catch(() => -1),
      );
      const timer = new AbortController();
      exitCodes.push(
        await Promise.race([
          old.process.exited,
          sleep(60_000, 'still running after 60 s' as const, { signal: timer.signal }),
        ]),
      );
      timer.abort();
      phases.push(`replica ${i + 1} exited ${Date.now() - terminated} ms after SIGTERM`);
      const starting = Date.now();
      replicas[i] = await connection.startReplica({ args: replicaArgs });
      everyReplica.push(replicas[i]!);
      phases.push(`its replacement served after ${Date.now() - starting} ms`);
      await sleep(2_000);
    }

    stopping = true;
    await workers;
    // Let the watch catch up with the last create before ending it.
    const last = created.at(-1);
    for (let i = 0; i < 100 && last && !added.includes(last); i++) await sleep(100);
    watchDone = true;
    await watching;

    const stored = await storedNames(sharedCluster('control-plane'), target, ns);
    console.info(
      `rolling restart: ${requests} requests, ${failures.length} failed ${JSON.stringify(failures.slice(0, 5))}; ` +
        `${created.length} claims created, watch resumed ${resumed} times, old replicas exited ${JSON.stringify(exitCodes)}, ` +
        `/readyz after SIGTERM ${JSON.stringify(readyzAfterTerm)}; ${phases.join(', ')}`,
    );
    // What the replicas logged above info, to tell which one failed a request and why.
    if (failures.length) console.info(`replica warnings:\n${everyReplica.map(warnings).join('\n')}`);
    expect(failures).toEqual([]);
    expect(exitCodes).toEqual([0, 0]);
    expect(readyzAfterTerm).toEqual([503, 503]);
    expect(created.length).toBeGreaterThan(10);
    expect(resumed).toBeGreaterThanOrEqual(1); // the watch was cut with its replica, and resumed
    expect(sorted(added)).toEqual(sorted(created)); // every create seen once: none lost, none twice
    expect(sorted(stored)).toEqual(sorted([...created, 'first']));
  }, 180_000);
});
