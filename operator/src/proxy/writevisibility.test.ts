import { describe, expect, it } from '@jest/globals';
import type { ClaimCache } from './claimcache.ts';
import type { RequestContext } from './context.ts';
import { createProxyMetrics } from './metrics.ts';
import type { Verb } from './requestinfo.ts';
import { claimRequest } from './testdata.ts';
import { writeVisibility } from './writevisibility.ts';

const ctx = (verb: Verb, query = '', signal = new AbortController().signal) =>
  ({
    info: {
      resourceRequest: true,
      path: '',
      query: new URLSearchParams(query),
      resource: claimRequest(verb, 'shop', 'db'),
    },
    auditID: 'a',
    signal,
  }) as unknown as RequestContext;

/** A cache at `at` that reaches `reaches` (when given) while a write waits; records what it was asked. */
function cache(state: { at: string; reaches?: string; synced?: boolean }) {
  const asked: bigint[] = [];
  const claims = {
    view: () => (state.synced === false ? undefined : { resourceVersion: state.at }),
    caughtUp: (_g: string, _v: string, _p: string, rv: bigint) => {
      asked.push(rv);
      if (state.reaches) state.at = state.reaches;
      return Promise.resolve(BigInt(state.at) >= rv);
    },
  } as unknown as ClaimCache;
  return { claims, asked, state };
}

const written = (resourceVersion: string) => ({ kind: 'KubernetesCluster', metadata: { resourceVersion } });

async function outcomes(metrics: ReturnType<typeof createProxyMetrics>) {
  const metric = await metrics.registry
    .getSingleMetric('ctp_connector_proxy_write_visible_wait_seconds')!
    .get();
  return Object.fromEntries(
    metric.values
      .filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))
      .map((v) => [String(v.labels.outcome), v.value]),
  );
}

describe('a write is answered once the claim cache has seen it', () => {
  it.each(['create', 'update', 'patch', 'delete'] as const)(
    "%s waits for the written object's resourceVersion",
    async (verb) => {
      const { claims, asked } = cache({ at: '10', reaches: '12' });
      const metrics = createProxyMetrics();
      await writeVisibility(metrics).awaitVisible(ctx(verb), claims, written('12'));
      expect(asked).toEqual([12n]);
      expect(await outcomes(metrics)).toEqual({ seen: 1 });
    },
  );

  it.each([
    ['a read', ctx('get'), written('12')],
    ['a dry run', ctx('create', 'dryRun=All'), written('12')],
    ['a delete answered with a Status', ctx('delete'), { kind: 'Status', status: 'Success' }],
    ['an answer without a resourceVersion', ctx('update'), { metadata: {} }],
    ['a malformed resourceVersion', ctx('update'), written('12a')],
  ])('does not wait for %s', async (_what, request, body) => {
    const { claims, asked } = cache({ at: '10' });
    await writeVisibility(createProxyMetrics()).awaitVisible(request, claims, body);
    expect(asked).toEqual([]);
  });

  it('does not wait without a cache, or for a resource it has not synced', async () => {
    const { claims, asked } = cache({ at: '10', synced: false });
    const visibility = writeVisibility(createProxyMetrics());
    await visibility.awaitVisible(ctx('create'), undefined, written('12'));
    await visibility.awaitVisible(ctx('create'), claims, written('12'));
    expect(asked).toEqual([]);
  });

  it('after a wait ran out, does not wait again until the cache has seen something new', async () => {
    const w = cache({ at: '10' });
    const metrics = createProxyMetrics();
    const visibility = writeVisibility(metrics);
    await visibility.awaitVisible(ctx('update'), w.claims, written('12'));
    await visibility.awaitVisible(ctx('update'), w.claims, written('13'));
    expect(w.asked).toEqual([12n]);
    w.state.at = '11'; // the cache moved: it is worth waiting for again
    await visibility.awaitVisible(ctx('update'), w.claims, written('14'));
    expect(w.asked).toEqual([12n, 14n]);
    expect(await outcomes(metrics)).toEqual({ timeout: 2, behind: 1 });
  });

  it('a write whose client went away does not mark the cache behind', async () => {
    const w = cache({ at: '10' });
    const visibility = writeVisibility(createProxyMetrics());
    const gone = new AbortController();
    gone.abort();
    await visibility.awaitVisible(ctx('update', '', gone.signal), w.claims, written('12'));
    await visibility.awaitVisible(ctx('update'), w.claims, written('13'));
    expect(w.asked).toEqual([12n, 13n]);
  });
});
