// Load for the footprint: many concurrent watches on one app namespace through a path, and a churn of claims
// created and deleted through the same path, so every write fans out to every watch. Measures what the path's
// proxy process spends meanwhile (peak RSS, CPU) and checks that every event reached every watch.
//
// A path that cannot hold the requested number of watches open is a finding, not a crash: the result records how
// many opened and why the others did not, and the load is measured with as many watches as the path can carry
// (those that opened, less the writers' concurrency, so the writes are not starved of connections as well).
import { call, parse, watch, type WatchStream } from './http.ts';
import { claim } from './claims.ts';
import { readRss, sample, type WindowUsage } from './footprint.ts';
import { pool } from './load.ts';
import type { RequestPath } from './paths.ts';
import { namespaces } from './setup.ts';

export interface WatchLoadSettings {
  watches: number;
  /** Claims created, then deleted, through the path. */
  churn: number;
  concurrency: number;
}

export interface WatchLoadResult {
  watchesRequested: number;
  /** Watches open during the load. */
  watches: number;
  /** Set when not every requested watch could be opened. */
  shortfall?: { opened: number; error: string };
  /** Write requests sent (creates + deletes). */
  requests: number;
  eventsExpected: number;
  eventsDelivered: number;
  seconds: number;
  usage: Record<string, WindowUsage>;
  /** RSS of each process before the watches opened: what the phases before left behind is not theirs. */
  beforeRss?: Record<string, number>;
  /** RSS of each process with every watch open, before the writes (what holding the watches costs, no garbage). */
  openRss?: Record<string, number>;
  /** Watches of the claims the control plane served before the watches opened, and while they were open. */
  upstreamWatches?: { before: number; during: number };
}

/** Seconds a watch may take to answer before the path counts as unable to open it. */
const openTimeoutMs = 15_000;

interface OpenWatches {
  streams: WatchStream[];
  /** ADDED and DELETED events seen per watch. */
  counts: number[];
  failed: number;
  error?: string;
  close(): Promise<void>;
}

async function openWatches(path: RequestPath, count: number): Promise<OpenWatches> {
  const collection = path.collection(namespaces.load);
  const head = await call(path.target, 'GET', `${collection}?limit=1`);
  if (head.status !== 200) throw new Error(`${path.name}: list ${collection}: ${head.status}`);
  const rv = parse<{ metadata: { resourceVersion: string } }>(head).metadata.resourceVersion;
  const counts = new Array<number>(count).fill(0);
  const streams: WatchStream[] = [];
  let failed = 0;
  let error: string | undefined;
  await pool(count, 20, async (w) => {
    try {
      streams.push(
        await watch(
          path.target,
          `${collection}?watch=1&resourceVersion=${rv}`,
          (event) => {
            if (event.type === 'ADDED' || event.type === 'DELETED') counts[w]!++;
          },
          openTimeoutMs,
        ),
      );
    } catch (err) {
      failed++;
      error ??= err instanceof Error ? err.message : String(err);
    }
  });
  return {
    streams,
    counts,
    failed,
    error,
    async close() {
      for (const s of streams) s.stop();
      await Promise.all(streams.map((s) => s.ended));
    },
  };
}

async function churn(
  path: RequestPath,
  settings: WatchLoadSettings,
  open: OpenWatches,
): Promise<Pick<WatchLoadResult, 'requests' | 'eventsExpected' | 'eventsDelivered'>> {
  const collection = path.collection(namespaces.load);
  const name = (i: number) => `${path.name}-load-${i}`;
  const write = async (method: 'POST' | 'DELETE', i: number) => {
    const answer =
      method === 'POST'
        ? await call(path.target, 'POST', collection, { body: JSON.stringify(claim(path.group, name(i))) })
        : await call(path.target, 'DELETE', `${collection}/${name(i)}`);
    if (answer.status >= 300)
      throw new Error(
        `${path.name}: ${method} ${name(i)}: ${answer.status}: ${answer.body.toString('utf8')}`,
      );
  };
  await pool(settings.churn, settings.concurrency, (i) => write('POST', i));
  await pool(settings.churn, settings.concurrency, (i) => write('DELETE', i));
  const expected = open.streams.length * settings.churn * 2;
  const delivered = () => open.counts.reduce((a, b) => a + b, 0);
  for (const deadline = Date.now() + 60_000; delivered() < expected && Date.now() < deadline;)
    await new Promise((r) => setTimeout(r, 100));
  return { requests: settings.churn * 2, eventsExpected: expected, eventsDelivered: delivered() };
}

export async function watchLoad(
  path: RequestPath,
  settings: WatchLoadSettings,
  pids: Record<string, number | undefined>,
  /** How many watches of the path's claims the control plane serves now. */
  upstreamWatches?: () => Promise<number>,
): Promise<WatchLoadResult> {
  let watches = settings.watches;
  let shortfall: WatchLoadResult['shortfall'];
  for (;;) {
    const before = await upstreamWatches?.();
    const beforeRss = readRss(pids);
    const sampler = sample(pids, 250);
    const started = performance.now();
    const open = await openWatches(path, watches);
    try {
      if (open.failed > 0) {
        if (shortfall)
          throw new Error(`${path.name}: ${open.failed} of ${watches} watches failed again: ${open.error}`);
        shortfall = { opened: open.streams.length, error: open.error ?? 'unknown' };
        watches = Math.max(1, open.streams.length - settings.concurrency);
        continue;
      }
      // Settled first: what opening them allocated on the way is garbage by now, what the watches hold is not.
      await new Promise((r) => setTimeout(r, 3_000));
      const openRss = readRss(pids);
      const writes = await churn(path, settings, open);
      const during = await upstreamWatches?.();
      return {
        watchesRequested: settings.watches,
        watches,
        ...(shortfall ? { shortfall } : {}),
        ...writes,
        seconds: (performance.now() - started) / 1000,
        usage: sampler.stop(),
        beforeRss,
        openRss,
        ...(before !== undefined && during !== undefined ? { upstreamWatches: { before, during } } : {}),
      };
    } finally {
      sampler.stop();
      await open.close();
    }
  }
}
