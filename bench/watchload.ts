// Load for the footprint: many concurrent watches on one app namespace through a path, and a churn of claims
// created and deleted through the same path, so every write fans out to every watch. Measures what the path's
// proxy process spends meanwhile (peak RSS, CPU) and checks that every event reached every watch.
import { call, parse, watch, type WatchStream } from './http.ts';
import { claim } from './claims.ts';
import { sample, type WindowUsage } from './footprint.ts';
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
  watches: number;
  /** Write requests sent (creates + deletes). */
  requests: number;
  eventsExpected: number;
  eventsDelivered: number;
  seconds: number;
  usage: Record<string, WindowUsage>;
}

export async function watchLoad(
  path: RequestPath,
  settings: WatchLoadSettings,
  pids: Record<string, number | undefined>,
): Promise<WatchLoadResult> {
  const collection = path.collection(namespaces.load);
  const head = await call(path.target, 'GET', `${collection}?limit=1`);
  if (head.status !== 200) throw new Error(`${path.name}: list ${collection}: ${head.status}`);
  const rv = parse<{ metadata: { resourceVersion: string } }>(head).metadata.resourceVersion;
  const counts = new Array<number>(settings.watches).fill(0);
  const streams: WatchStream[] = [];
  const sampler = sample(pids, 250);
  const started = performance.now();
  try {
    await pool(settings.watches, 20, async (w) => {
      streams.push(
        await watch(path.target, `${collection}?watch=1&resourceVersion=${rv}`, (event) => {
          if (event.type === 'ADDED' || event.type === 'DELETED') counts[w]!++;
        }),
      );
    });
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
    const expected = settings.watches * settings.churn * 2;
    const deadline = Date.now() + 60_000;
    while (counts.reduce((a, b) => a + b, 0) < expected && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    return {
      watches: settings.watches,
      requests: settings.churn * 2,
      eventsExpected: expected,
      eventsDelivered: counts.reduce((a, b) => a + b, 0),
      seconds: (performance.now() - started) / 1000,
      usage: sampler.stop(),
    };
  } finally {
    sampler.stop();
    for (const s of streams) s.stop();
    await Promise.all(streams.map((s) => s.ended));
  }
}
