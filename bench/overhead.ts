// Request overhead: every verb a claim client uses, timed on each of the three paths in the same run. One
// repetition of one path is a chain — reads, then create → update → merge patch → server-side apply → delete of
// the same objects, then watch-event delivery — each operation warmed up first and then measured at its pinned
// count and concurrency, with the CPU time every process of the path spent on it.
import type { Dispatcher } from 'undici';
import { call, parse, watch, type Answer, type Target } from './http.ts';
import { claim, createAll, deleteClaims, storedClaim, type Claim } from './claims.ts';
import { sample } from './footprint.ts';
import { measure, type Measurement } from './load.ts';
import type { PathName, RequestPath } from './paths.ts';
import {
  claimGroup,
  namespaces,
  passthroughGroup,
  plural,
  targetNamespace,
  version,
  type BenchEnvironment,
} from './setup.ts';

export interface OverheadSettings {
  listSizes: number[];
  pageSize: number;
  /** Measured requests per operation (lists: per size). */
  counts: { get: number; list: number[]; write: number; watch: number };
  /** Requests in flight at once (lists: per size). */
  concurrency: { get: number; list: number[]; write: number; watch: number };
  /** Warm-up requests per operation, as a fraction of its count (at least 2). */
  warmupFraction: number;
}

export const writeOps = ['create', 'update', 'patch-merge', 'patch-apply', 'delete'] as const;

/** Operation names in report order. */
export function operations(settings: Pick<OverheadSettings, 'listSizes'>): string[] {
  return ['get', ...settings.listSizes.map((n) => `list-${n}`), ...writeOps, 'watch-event'];
}

export interface OpRun {
  rep: number;
  path: PathName;
  op: string;
  measurement: Measurement;
  /** CPU milliseconds each measured process spent during the measurement. */
  cpuMs: Record<string, number>;
}

export interface ChainContext {
  env: BenchEnvironment;
  settings: OverheadSettings;
  clusterID: string;
  /** Processes whose CPU time is charged to each measurement (absent ones are skipped). */
  pids: Record<string, number | undefined>;
}

const fail = (what: string, answer: Answer) =>
  new Error(`${what}: ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`);

async function timed(
  target: Target,
  method: Dispatcher.HttpMethod,
  path: string,
  what: string,
  options: { body?: string; contentType?: string } = {},
): Promise<Answer> {
  const answer = await call(target, method, path, options);
  if (answer.status >= 300) throw fail(what, answer);
  return answer;
}

/** A paginated list: the sum of the pages' latencies; the item count must be `expected`. */
async function paginatedList(path: RequestPath, namespace: string, pageSize: number, expected: number) {
  let ms = 0;
  let items = 0;
  let token: string | undefined;
  do {
    const query = `?limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
    const answer = await timed(path.target, 'GET', `${path.collection(namespace)}${query}`, 'list');
    ms += answer.ms;
    const page = parse<{ items: unknown[]; metadata: { continue?: string } }>(answer);
    items += page.items.length;
    token = page.metadata.continue || undefined;
  } while (token);
  if (items !== expected) throw new Error(`list of ${namespace}: ${items} items, expected ${expected}`);
  return ms;
}

/** One repetition of one path: every operation, in order. */
export async function runChain(ctx: ChainContext, path: RequestPath, rep: number): Promise<OpRun[]> {
  const { settings } = ctx;
  const runs: OpRun[] = [];
  const warmup = (count: number) => Math.max(2, Math.ceil(count * settings.warmupFraction));
  const run = async (
    op: string,
    count: number,
    concurrency: number,
    request: (i: number, warm: boolean) => Promise<number>,
  ) => {
    const sampler = sample(ctx.pids, 60_000);
    const measurement = await measure({ count, concurrency, warmup: warmup(count), request });
    const usage = sampler.stop();
    const cpuMs = Object.fromEntries(Object.entries(usage).map(([name, u]) => [name, u.cpuMs]));
    runs.push({ rep, path: path.name, op, measurement, cpuMs });
  };

  // Reads: gets of the objects of the middle list, lists of every size.
  const getSize = settings.listSizes[Math.min(1, settings.listSizes.length - 1)]!;
  await run('get', settings.counts.get, settings.concurrency.get, async (i) => {
    const name = `claim-${i % getSize}`;
    return (await timed(path.target, 'GET', `${path.collection(namespaces.list(getSize))}/${name}`, 'get'))
      .ms;
  });
  for (const [k, size] of settings.listSizes.entries()) {
    await run(`list-${size}`, settings.counts.list[k]!, settings.concurrency.list[k]!, () =>
      paginatedList(path, namespaces.list(size), settings.pageSize, size),
    );
  }

  // Writes, on the same objects one operation after the other.
  const collection = path.collection(namespaces.writes);
  const name = (i: number, warm: boolean) => `${path.name}-r${rep}-${warm ? 'w' : ''}${i}`;
  const latest = new Map<string, Claim>();
  const count = settings.counts.write;
  const concurrency = settings.concurrency.write;
  await run('create', count, concurrency, async (i, warm) => {
    const n = name(i, warm);
    const answer = await timed(path.target, 'POST', collection, 'create', {
      body: JSON.stringify(claim(path.group, n)),
    });
    latest.set(n, parse<Claim>(answer));
    return answer.ms;
  });
  await run('update', count, concurrency, async (i, warm) => {
    const n = name(i, warm);
    const current = latest.get(n);
    if (!current) throw new Error(`update ${n}: it was not created`);
    const body = structuredClone(current);
    (body.spec.parameters as { nodes: { count: number } }).nodes.count = 4;
    const put = (of: Claim) => call(path.target, 'PUT', `${collection}/${n}`, { body: JSON.stringify(of) });
    let answer = await put(body);
    if (answer.status === 409) {
      // Crossplane recorded the claim paused after it was read: read it again (untimed), as a client would.
      const fresh = parse<Claim>(await timed(path.target, 'GET', `${collection}/${n}`, 'get'));
      fresh.spec = body.spec;
      answer = await put(fresh);
    }
    if (answer.status >= 300) throw fail('update', answer);
    return answer.ms;
  });
  await run('patch-merge', count, concurrency, async (i, warm) => {
    const body = JSON.stringify({ spec: { parameters: { nodes: { count: 5 } } } });
    return (
      await timed(path.target, 'PATCH', `${collection}/${name(i, warm)}`, 'merge patch', {
        body,
        contentType: 'application/merge-patch+json',
      })
    ).ms;
  });
  await run('patch-apply', count, concurrency, async (i, warm) => {
    const n = name(i, warm);
    const body = JSON.stringify({
      apiVersion: `${path.group}/${version}`,
      kind: 'KubernetesCluster',
      metadata: { name: n },
      spec: { id: n, parameters: { nodes: { size: 'medium' } } },
    });
    return (
      await timed(path.target, 'PATCH', `${collection}/${n}?fieldManager=bench&force=true`, 'apply', {
        body,
        contentType: 'application/apply-patch+yaml',
      })
    ).ms;
  });
  await run('delete', count, concurrency, async (i, warm) => {
    return (await timed(path.target, 'DELETE', `${collection}/${name(i, warm)}`, 'delete')).ms;
  });

  const delivery = await watchDelivery(ctx, path, rep);
  try {
    await run('watch-event', settings.counts.watch, settings.concurrency.watch, delivery.request);
  } finally {
    await delivery.close();
  }
  return runs;
}

/**
 * Watch-event delivery: a watch on the path, and claims written straight into the control plane (the same writer
 * for every path, so only delivery differs); the latency is from sending the write to reading its ADDED event.
 */
async function watchDelivery(
  ctx: ChainContext,
  path: RequestPath,
  rep: number,
): Promise<{ request: (i: number, warm: boolean) => Promise<number>; close: () => Promise<void> }> {
  const collection = path.collection(namespaces.watch);
  const head = parse<{ metadata: { resourceVersion: string } }>(
    await timed(path.target, 'GET', `${collection}?limit=1`, 'list before watch'),
  );
  const waiting = new Map<string, (at: number) => void>();
  const stream = await watch(
    path.target,
    `${collection}?watch=1&resourceVersion=${head.metadata.resourceVersion}`,
    (event, at) => {
      const n = event.object.metadata?.name;
      if (event.type === 'ADDED' && n) waiting.get(n)?.(at);
    },
  );
  const cp = ctx.env.admin.controlPlane;
  const request = async (i: number, warm: boolean) => {
    const n = `${path.name}-r${rep}-e${warm ? 'w' : ''}${i}`;
    const write =
      path.name === 'connector'
        ? storedClaim(ctx.clusterID, namespaces.watch, n)
        : {
            path: `/apis/${passthroughGroup}/${version}/namespaces/${namespaces.watch}/${plural}`,
            body: claim(passthroughGroup, n),
          };
    let timer: NodeJS.Timeout | undefined;
    const delivered = new Promise<number>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no ADDED event for ${n} within 30 s`)), 30_000);
      waiting.set(n, resolve);
    });
    const started = performance.now();
    try {
      await createAll(cp, [write], 1);
      return (await delivered) - started;
    } finally {
      clearTimeout(timer);
      waiting.delete(n);
    }
  };
  // The watch goes first: its DELETED events are of no interest.
  const close = async () => {
    stream.stop();
    await stream.ended;
    if (path.name === 'connector')
      await deleteClaims(
        cp,
        claimGroup,
        targetNamespace,
        `connect.ctp.dev/app-namespace=${namespaces.watch}`,
      );
    else await deleteClaims(cp, passthroughGroup, namespaces.watch);
  };
  return { request, close };
}
