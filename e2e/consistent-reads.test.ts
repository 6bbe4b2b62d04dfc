// Consistent reads across proxy replicas: lists without resourceVersion may come from a replica's claim cache, but
// must still see every write acknowledged before them — through another replica, or straight to the control plane.
// Two replicas of one connection run as processes on ports of their own; the test writes through one, or to the
// control plane directly, and at once reads through the other, in a loop, and never accepts a stale answer. It
// reports how many reads each replica's cache answered and how long consistent reads waited.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { claimManifest, type Claim } from './harness/claims.ts';
import { prepareConnector } from './harness/connector.ts';
import { kubectl } from './harness/kubectl.ts';
import { metricSample, scrapeMetrics } from './harness/metrics.ts';
import { freePorts } from './harness/ports.ts';
import {
  connectWithProxyProcess,
  type ProcessConnection,
  type ProxyReplica,
} from './harness/proxy-process.ts';
import { endpointOf, rawClient, type RawClient } from './harness/raw-https.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const target = 'team-consistent';
const ns = 'consistent-shop';
const rounds = Number(process.env.CTP_E2E_CONSISTENT_ROUNDS ?? '200');
const api = '/apis/platform.example.org/v1alpha1';
const collection = `${api}/namespaces/${ns}/kubernetesclusters`;
const admin = { 'x-remote-user': 'system:admin', 'x-remote-group': 'system:masters' };

type List = { metadata: { resourceVersion: string; continue?: string }; items: Claim[] };
// Where Crossplane runs, its finalizer keeps a deleted claim a moment: what was acknowledged is the deletion's start,
// so the claim may still be listed, but only as deleting.
const deleting = (c: Claim) => Boolean(c.metadata.deletionTimestamp);

describe('consistent reads across proxy replicas and a control-plane writer', () => {
  let connection: ProcessConnection;
  const replicas: ProxyReplica[] = [];
  const direct: RawClient[] = [];
  let controlPlane: RawClient;

  /** A request straight to one replica, as the aggregator sends it. */
  async function call(
    replica: number,
    method: string,
    path: string,
    body?: unknown,
    type = 'application/json',
  ) {
    const answer = await direct[replica]!.send({
      method,
      path,
      headers: { ...admin, ...(body === undefined ? {} : { 'content-type': type }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: 30_000,
    });
    if (answer.status >= 300)
      throw new Error(`${method} ${path} via replica ${replica}: ${answer.status} ${answer.text}`);
    return JSON.parse(answer.text) as Record<string, unknown>;
  }
  const list = async (replica: number, query = '') =>
    (await call(replica, 'GET', `${collection}${query}`)) as List;
  const label = (list: List, name: string, key: string) =>
    list.items.find((c) => c.metadata.name === name)?.metadata.labels?.[key];

  beforeAll(async () => {
    await prepareConnector(app, controlPlaneCredential(cp));
    const connected = await connectWithProxyProcess(app, 'consistent', {
      targetNamespace: target,
      deletionPolicy: 'Delete',
    });
    connection = connected;
    const [secondPort] = (await freePorts(1)) as [number];
    replicas.push(connected.first, await connection.startReplica({ args: [`--port=${secondPort}`] }));
    const frontProxy = {
      cert: readFileSync(join(app.dir, 'pki', 'front-proxy-client.crt'), 'utf8'),
      key: readFileSync(join(app.dir, 'pki', 'front-proxy-client.key'), 'utf8'),
    };
    // The serving certificate names the Service, not 127.0.0.1: the test does not verify it.
    for (const port of [connection.port, secondPort])
      direct.push(rawClient({ host: '127.0.0.1', port, ...frontProxy }, { keepAlive: true }));
    controlPlane = rawClient(endpointOf(cp.kubeconfigPath), { keepAlive: true });
    await kubectl(app, ['create', 'namespace', ns]);
    for (const r of replicas)
      await waitFor(
        async () =>
          metricSample(await scrapeMetrics(r.metricsAddress), 'ctp_connector_proxy_claim_cache_synced') ===
            1 || undefined,
        { timeoutMs: 60_000, what: `${r.process.name}'s claim cache to sync` },
      );
    await call(0, 'POST', collection, claimManifest({ name: 'rw', namespace: ns }));
    await call(0, 'POST', collection, claimManifest({ name: 'cp', namespace: ns }));
  }, 240_000);

  afterAll(async () => {
    await connection?.stop();
    await kubectl(app, ['delete', 'namespace', ns, '--wait=false']);
    for (const c of direct) c.close();
    controlPlane?.close();
  });

  it(`never reads stale in ${rounds} rounds of writes through one replica and the control plane`, async () => {
    const stored = JSON.parse(
      (
        await controlPlane.send({
          path: `${api}/namespaces/${target}/kubernetesclusters?labelSelector=${encodeURIComponent(`connect.ctp.dev/app-namespace=${ns}`)}`,
        })
      ).text,
    ) as List;
    const cpName = stored.items.find((c) => c.metadata.annotations?.['connect.ctp.dev/app-name'] === 'cp')!
      .metadata.name;
    const before = await Promise.all(replicas.map((r) => scrapeMetrics(r.metricsAddress)));
    const started = performance.now();
    const stale: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      const writer = round % 2;
      const reader = 1 - writer;
      // Through one replica: a label, and a claim created or deleted.
      await call(
        writer,
        'PATCH',
        `${collection}/rw`,
        { metadata: { labels: { round: String(round) } } },
        'application/merge-patch+json',
      );
      const added = `n-${round}`;
      await call(writer, 'POST', collection, claimManifest({ name: added, namespace: ns }));
      let seen = await list(reader);
      if (label(seen, 'rw', 'round') !== String(round))
        stale.push(`round ${round}: rw round ${label(seen, 'rw', 'round')}`);
      if (!seen.items.some((c) => c.metadata.name === added)) stale.push(`round ${round}: ${added} missing`);
      await call(writer, 'DELETE', `${collection}/${added}`);
      // Straight to the control plane, by another user.
      const patched = await controlPlane.send({
        method: 'PATCH',
        path: `${api}/namespaces/${target}/kubernetesclusters/${cpName}`,
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { labels: { round: String(round) } } }),
      });
      expect(patched.status).toBe(200);
      seen = await list(reader);
      if (label(seen, 'cp', 'round') !== String(round))
        stale.push(`round ${round}: cp round ${label(seen, 'cp', 'round')}`);
      if (seen.items.some((c) => c.metadata.name === added && !deleting(c)))
        stale.push(`round ${round}: deleted ${added} still listed`);
      // Paginated through the other replica: the same claims, each once.
      const first = await list(writer, '?limit=1');
      const rest = first.metadata.continue
        ? await list(writer, `?limit=10&continue=${encodeURIComponent(first.metadata.continue)}`)
        : undefined;
      const paged = [...first.items, ...(rest?.items ?? [])]
        .filter((c) => !deleting(c))
        .map((c) => c.metadata.name);
      if (paged.join() !== 'cp,rw' || label(first, 'cp', 'round') !== String(round))
        stale.push(`round ${round}: pages ${paged.join()}`);
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await Promise.all(replicas.map((r) => scrapeMetrics(r.metricsAddress)));
    const delta = (i: number, name: string, labels: Record<string, string>) =>
      metricSample(after[i]!, name, labels) - metricSample(before[i]!, name, labels);
    const report = replicas.map((r, i) => ({
      replica: r.process.name,
      listsFromCache: delta(i, 'ctp_connector_proxy_reads_total', { verb: 'list', source: 'cache' }),
      listsForwarded: delta(i, 'ctp_connector_proxy_reads_total', { verb: 'list', source: 'control-plane' }),
      consistentFresh: delta(i, 'ctp_connector_proxy_consistent_read_wait_seconds_count', {
        outcome: 'fresh',
      }),
      consistentFreshSeconds: delta(i, 'ctp_connector_proxy_consistent_read_wait_seconds_sum', {
        outcome: 'fresh',
      }),
      consistentTimeout: delta(i, 'ctp_connector_proxy_consistent_read_wait_seconds_count', {
        outcome: 'timeout',
      }),
    }));
    console.log(JSON.stringify({ rounds, seconds, report }, null, 2));
    expect(stale).toEqual([]);
  }, 1_800_000);

  it('watches through one replica see every write through the other and the control plane, from its cache', async () => {
    const before = await scrapeMetrics(replicas[1]!.metricsAddress);
    // Listed from the cache (resourceVersion 0), as informers list.
    const listed = await list(1, '?resourceVersion=0');
    const stream = await direct[1]!.stream({
      path: `${collection}?watch=true&allowWatchBookmarks=true&resourceVersion=${listed.metadata.resourceVersion}`,
      headers: admin,
    });
    expect(stream.status).toBe(200);
    const meta = (e: { object: Record<string, unknown> }) => (e.object as unknown as Claim).metadata;
    const roundOf = (name: string) => (e: { type: string; object: Record<string, unknown> }) =>
      e.type === 'MODIFIED' && meta(e).name === name;
    for (let w = 1; w <= 5; w++) {
      await call(
        0,
        'PATCH',
        `${collection}/rw`,
        { metadata: { labels: { watched: String(w) } } },
        'application/merge-patch+json',
      );
      const seen = await stream.next(
        (e) => roundOf('rw')(e) && meta(e).labels?.watched === String(w),
        10_000,
      );
      expect(meta(seen).namespace).toBe(ns);
    }
    const added = await call(0, 'POST', collection, claimManifest({ name: 'watched', namespace: ns }));
    await stream.next((e) => e.type === 'ADDED' && meta(e).name === 'watched', 10_000);
    await call(0, 'DELETE', `${collection}/watched`);
    await stream.next((e) => e.type === 'DELETED' && meta(e).name === 'watched', 10_000);
    expect(added).toBeDefined();
    stream.close();
    // A resourceVersion older than anything the cache or the control plane holds: 410, as kube-apiserver answers.
    const old = await direct[1]!.stream({
      path: `${collection}?watch=true&resourceVersion=1`,
      headers: admin,
    });
    const gone = await old.next((e) => e.type === 'ERROR', 10_000);
    expect(gone.object).toMatchObject({ code: 410 });
    old.close();
    const after = await scrapeMetrics(replicas[1]!.metricsAddress);
    const served = (source: string) =>
      metricSample(after, 'ctp_connector_proxy_reads_total', { verb: 'watch', source }) -
      metricSample(before, 'ctp_connector_proxy_reads_total', { verb: 'watch', source });
    // The first from the cache; the second, from before what the cache holds, from the control plane (its 410).
    expect(served('cache')).toBe(1);
    expect(served('control-plane')).toBe(1);
  }, 120_000);

  it("serves a watch from the control plane's resourceVersion from its cache: every later write, none before; one from the future is the control plane's", async () => {
    const before = await scrapeMetrics(replicas[1]!.metricsAddress);
    const merge = 'application/merge-patch+json';
    const meta = (e: { object: Record<string, unknown> }) => (e.object as unknown as Claim).metadata;
    await call(0, 'PATCH', `${collection}/rw`, { metadata: { labels: { phase: 'before' } } }, merge);
    // A resourceVersion of the control plane that no claim event carries, so beyond what the cache has seen: an
    // object written right after the claim (as a forwarded list's resourceVersion is, moved on by other writers).
    const marker = await controlPlane.send({
      method: 'POST',
      path: '/api/v1/namespaces/default/configmaps',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'rv-marker-' } }),
    });
    expect(marker.status).toBe(201);
    const { metadata } = JSON.parse(marker.text) as { metadata: { name: string; resourceVersion: string } };
    const rv = BigInt(metadata.resourceVersion);
    try {
      const stream = await direct[1]!.stream({
        path: `${collection}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`,
        headers: admin,
      });
      expect(stream.status).toBe(200);
      await call(0, 'PATCH', `${collection}/rw`, { metadata: { labels: { phase: 'after' } } }, merge);
      // The write before the resourceVersion may reach the cache only now: it must not be sent.
      const first = await stream.next((e) => e.type !== 'BOOKMARK' && meta(e).name === 'rw', 10_000);
      expect({ type: first.type, phase: meta(first).labels?.phase }).toEqual({
        type: 'MODIFIED',
        phase: 'after',
      });
      expect(BigInt(meta(first).resourceVersion ?? 0)).toBeGreaterThan(rv);
      stream.close();

      // From the future: the control plane's answer, whatever it is (it holds such a watch open without events,
      // until it gets there); from the cache there would be a bookmark or events of the cache's past.
      const futurePath = `${collection}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv + 1_000_000_000n}`;
      const viaProxy = await direct[1]!.stream({ path: futurePath, headers: admin });
      const straight = await controlPlane.stream({
        path: futurePath.replace(`/namespaces/${ns}/`, `/namespaces/${target}/`),
        headers: {},
      });
      await new Promise((r) => setTimeout(r, 3_000));
      const events = (s: typeof straight) =>
        s
          .next(() => true, 1)
          .then(
            (e) => [e.type],
            () => [] as string[],
          );
      expect({ status: viaProxy.status, events: await events(viaProxy) }).toEqual({
        status: straight.status,
        events: await events(straight),
      });
      viaProxy.close();
      straight.close();
    } finally {
      await controlPlane.send({
        method: 'DELETE',
        path: `/api/v1/namespaces/default/configmaps/${metadata.name}`,
      });
    }
    // A forwarded watch is counted when it ends, once the proxy has seen its client go.
    const served = async (source: string) =>
      metricSample(await scrapeMetrics(replicas[1]!.metricsAddress), 'ctp_connector_proxy_reads_total', {
        verb: 'watch',
        source,
      }) - metricSample(before, 'ctp_connector_proxy_reads_total', { verb: 'watch', source });
    await waitFor(async () => ((await served('control-plane')) === 1 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the watch from the future to be counted as forwarded',
    });
    expect(await served('cache')).toBe(1);
  }, 120_000);

  it('reports what consistent reads cost while nothing of this cluster changes', async () => {
    // Other writers (leases, other clusters) move the control plane's resourceVersion on; the cache learns how far
    // it has caught up from bookmarks, which kube-apiserver sends about once a minute.
    const before = await scrapeMetrics(replicas[1]!.metricsAddress);
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 2_500));
      const started = performance.now();
      expect((await list(1)).items.map((c) => c.metadata.name)).toEqual(['cp', 'rw']);
      latencies.push(Math.round(performance.now() - started));
    }
    const after = await scrapeMetrics(replicas[1]!.metricsAddress);
    const delta = (outcome: string) =>
      metricSample(after, 'ctp_connector_proxy_consistent_read_wait_seconds_count', { outcome }) -
      metricSample(before, 'ctp_connector_proxy_consistent_read_wait_seconds_count', { outcome });
    console.log(
      JSON.stringify({
        quiet: {
          latenciesMs: latencies,
          fresh: delta('fresh'),
          timeout: delta('timeout'),
          behind: delta('behind'),
        },
      }),
    );
  }, 120_000);
});
