import { describe, expect, it } from '@jest/globals';
import { TransportError, type KubeClient } from '../kube/client.ts';
import type { ClaimCache } from './claimcache.ts';
import { consistentReads, type ConsistentReadDeps } from './consistentread.ts';
import type { RequestContext } from './context.ts';
import { createProxyMetrics } from './metrics.ts';
import { claimRequest } from './testdata.ts';

const resource = claimRequest('list', 'shop');
const ctx = () =>
  ({
    info: { resourceRequest: true, path: '', query: new URLSearchParams(), resource },
    auditID: 'a',
    signal: new AbortController().signal,
  }) as unknown as RequestContext;

/** A control plane at `current` and a cache at `cached` that reaches `reaches` (if given) while a read waits. */
function world(state: { current: string | Error; cached: string; reaches?: string }) {
  const asked: unknown[] = [];
  const client = {
    exchange: (_method: string, path: string, options: unknown) => {
      asked.push({ path, options });
      if (state.current instanceof Error) return Promise.reject(state.current);
      return Promise.resolve({
        code: 200,
        headers: {},
        body: { metadata: { resourceVersion: state.current } },
      });
    },
  } as unknown as KubeClient;
  const claims = {
    resourceVersion: () => state.cached,
    caughtUp: (_g: string, _v: string, _p: string, rv: bigint) => {
      if (state.reaches) state.cached = state.reaches;
      return Promise.resolve(BigInt(state.cached) >= rv);
    },
  } as unknown as ClaimCache;
  const deps: ConsistentReadDeps = {
    client,
    claims,
    scope: { clusterID: 'c1', targetNamespace: 'team-1' },
    health: {
      available: () => true,
      answered: () => undefined,
      failed: () => undefined,
      suspect: () => undefined,
      stop: () => undefined,
    },
    metrics: createProxyMetrics(),
    waitMs: 100,
  };
  return { deps, asked, state };
}

describe('consistent reads from the cache', () => {
  it("asks the control plane where it stands with one metadata-only object of this cluster's", async () => {
    const { deps, asked } = world({ current: '10', cached: '10' });
    expect(await consistentReads().awaitConsistency(ctx(), deps)).toBe('fresh');
    expect(asked).toEqual([
      {
        path: '/apis/platform.example.org/v1alpha1/namespaces/team-1/kubernetesclusters',
        options: expect.objectContaining({
          query: { labelSelector: 'connect.ctp.dev/cluster-id=c1', limit: 1 },
          headers: expect.objectContaining({
            accept: expect.stringContaining('as=PartialObjectMetadataList') as unknown,
          }) as unknown,
        }) as unknown,
      },
    ]);
  });

  it('is fresh once the cache reaches the current resourceVersion while the read waits', async () => {
    const { deps } = world({ current: '12', cached: '10', reaches: '12' });
    expect(await consistentReads().awaitConsistency(ctx(), deps)).toBe('fresh');
  });

  it('does not ask again while a cache found behind has seen nothing new', async () => {
    const w = world({ current: '12', cached: '10' });
    const reads = consistentReads();
    expect(await reads.awaitConsistency(ctx(), w.deps)).toBe('stale');
    expect(await reads.awaitConsistency(ctx(), w.deps)).toBe('stale');
    expect(w.asked).toHaveLength(1);
    // A bookmark or event moved the cache on: asked again.
    w.state.cached = '13';
    expect(await reads.awaitConsistency(ctx(), w.deps)).toBe('fresh');
    expect(w.asked).toHaveLength(2);
  });

  it('reports a control plane that does not answer, so the read can come from the cache as in an outage', async () => {
    const { deps } = world({ current: new TransportError('reset', { cause: undefined }), cached: '10' });
    expect(await consistentReads().awaitConsistency(ctx(), deps)).toBe('unreachable');
  });
});
