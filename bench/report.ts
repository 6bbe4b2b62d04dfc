// The benchmark's outputs, all rendered from one result object: the JSON itself, a Markdown summary, a chart of
// latency distributions (SVG, drawn here), and the table printed at the end of a run. Pure.
import type { BenchConfig } from './config.ts';
import type { APIChangeTimes, ConnectionTimes } from './convergence.ts';
import type { CacheReads } from './cache.ts';
import type { WindowUsage } from './footprint.ts';
import type { OpRun } from './overhead.ts';
import { pathNames, type PathName } from './paths.ts';
import type { ProfileSummary } from './profile.ts';
import type { Spread } from './stats.ts';
import type { OpSummary, Ratios } from './summary.ts';
import type { WatchLoadResult } from './watchload.ts';

export interface BenchResult {
  version: 1;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  config: BenchConfig;
  /** How this run differs from the full parameters (empty for a full run). */
  deviations: string[];
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    kubernetes: string;
    /** 1, 5 and 15 minute load averages at the start and the end: other work on the machine. */
    loadAverage: { start: number[]; end: number[] };
  };
  seeding: { claims: number; seconds: number };
  overhead: {
    operations: string[];
    runs: OpRun[];
    summary: OpSummary[];
    ratios: Ratios[];
    /** How the connector proxy answered the gets and lists of the request overhead (all repetitions). */
    reads?: CacheReads;
  };
  convergence: {
    /** Connections applied one at a time (Scoped credentials, every claim API), each timed to its objects and Ready. */
    connection: { reps: ConnectionTimes[]; appliedMs: Spread; readyMs: Spread };
    /** The measured connection (Passthrough credentials, one group), timed the same way. */
    benchConnection: ConnectionTimes;
    newAPI: { reps: APIChangeTimes[]; availableMs: Spread; removedMs: Spread };
    /** Deleting a connection until its finalizer is done. */
    deleteMs: Spread;
    many: { count: number; readyMs: { p50: number; p90: number; max: number } };
    rest: {
      seconds: number;
      /** Reconciles per connection in the window. */
      counts: Record<string, number>;
      total: number;
      max: number;
    };
  };
  footprint: {
    /** RSS (bytes) right after the connection became Ready, before any claim existed. */
    idle: Record<string, number>;
    /** The at-rest window: every claim seeded, the many connections Ready, no requests. */
    rest: Record<string, WindowUsage>;
    /** Claims the connector proxy's cache holds at rest (those seeded for the list sizes). */
    cachedClaims?: number;
    load: Partial<Record<'connector' | 'passthrough', WatchLoadResult>>;
    /** The connector proxy's memory by kind, at points of the run (absent in older results). */
    proxyMemory?: Record<string, ProcessMemory>;
  };
  profile?: { requests: number; summary: ProfileSummary };
}

const fmt = (n: number | undefined, digits = 1): string =>
  n === undefined || !Number.isFinite(n)
    ? 'n/a'
    : n >= 100
      ? n.toFixed(0)
      : n >= 10
        ? n.toFixed(digits)
        : n.toFixed(digits + 1);
const x = (n: number | undefined) => (n === undefined ? 'n/a' : `${n.toFixed(2)}×`);
const mib = (bytes: number | undefined) =>
  bytes === undefined ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const kib = (bytes: number | undefined) =>
  bytes === undefined ? 'n/a' : `${(bytes / 2 ** 10).toFixed(0)} KiB`;
const range = (s: Spread) => (s.n > 1 ? ` [${fmt(s.min)}–${fmt(s.max)}]` : '');

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The summary table: median p50 / p99 per path and the connector's ratios. */
export function summaryTable(result: BenchResult): string {
  const { summary, ratios, operations } = result.overhead;
  const cell = (op: string, path: PathName) => {
    const s = summary.find((r) => r.op === op && r.path === path);
    return s ? `${fmt(s.p50.median)} / ${fmt(s.p99.median)}` : 'n/a';
  };
  const thr = (op: string) =>
    pathNames
      .map((p) => fmt(summary.find((r) => r.op === op && r.path === p)?.throughput.median, 0))
      .join(' / ');
  return table(
    [
      'operation',
      'direct p50 / p99 ms',
      'passthrough p50 / p99 ms',
      'connector p50 / p99 ms',
      'c/b p50',
      'c/b p99',
      'c/a p50',
      'c/a p99',
      'req/s a / b / c',
    ],
    operations.map((op) => {
      const r = ratios.find((q) => q.op === op);
      return [
        op,
        cell(op, 'direct'),
        cell(op, 'passthrough'),
        cell(op, 'connector'),
        x(r?.vsPassthrough.p50),
        x(r?.vsPassthrough.p99),
        x(r?.vsDirect.p50),
        x(r?.vsDirect.p99),
        thr(op),
      ];
    }),
  );
}

function detailTable(result: BenchResult): string {
  return table(
    [
      'operation',
      'path',
      'n × reps',
      'conc.',
      'p50 ms [min–max]',
      'p99 ms [min–max]',
      'req/s [min–max]',
      'errors',
    ],
    result.overhead.summary.map((s) => [
      s.op,
      s.path,
      `${s.count} × ${s.p50.n}`,
      String(
        result.overhead.runs.find((r) => r.op === s.op && r.path === s.path)?.measurement.concurrency ?? '',
      ),
      `${fmt(s.p50.median)}${range(s.p50)}`,
      `${fmt(s.p99.median)}${range(s.p99)}`,
      `${fmt(s.throughput.median, 0)}${range(s.throughput)}`,
      String(s.errors),
    ]),
  );
}

function cpuTable(result: BenchResult): string {
  const processes = ['connector-proxy', 'passthrough-proxy', 'app-apiserver', 'cp-apiserver', 'cp-etcd'];
  const present = processes.filter((p) => result.overhead.summary.some((s) => s.cpuPer1000[p]));
  return table(
    ['operation', 'path', ...present.map((p) => `${p} CPU ms / 1000 req`)],
    result.overhead.summary.map((s) => [
      s.op,
      s.path,
      ...present.map((p) => {
        const v = s.cpuPer1000[p];
        // A proxy is only on its own path; on the others its CPU is background work, not this path's.
        const offPath =
          (p === 'connector-proxy' && s.path !== 'connector') ||
          (p === 'passthrough-proxy' && s.path !== 'passthrough') ||
          (p === 'app-apiserver' && s.path === 'direct');
        return v && !offPath ? fmt(v.median, 0) : '–';
      }),
    ]),
  );
}

function convergenceSection(result: BenchResult): string {
  const c = result.convergence;
  const ms = (s: Spread) =>
    `${fmt(s.median / 1000, 2)} s${s.n > 1 ? ` [${fmt(s.min / 1000, 2)}–${fmt(s.max / 1000, 2)}]` : ''}`;
  const restValues = Object.values(c.rest.counts);
  return [
    table(
      ['what', 'time (median [min–max])', 'samples'],
      [
        [
          'connection applied → its objects exist (Scoped)',
          ms(c.connection.appliedMs),
          String(c.connection.appliedMs.n),
        ],
        [
          'connection applied → Ready=True (Scoped, proxy started by the harness)',
          ms(c.connection.readyMs),
          String(c.connection.readyMs.n),
        ],
        [
          'measured connection applied → Ready=True (Passthrough)',
          `${fmt(c.benchConnection.readyMs / 1000, 2)} s`,
          '1',
        ],
        [
          'new XRD in the control plane → APIService Available',
          ms(c.newAPI.availableMs),
          String(c.newAPI.availableMs.n),
        ],
        ['XRD removed → APIService gone', ms(c.newAPI.removedMs), String(c.newAPI.removedMs.n)],
        ['connection deleted → finalizer done', ms(c.deleteMs), String(c.deleteMs.n)],
        [
          `${c.many.count} connections applied at once → each Ready (p50 / p90 / all)`,
          `${fmt(c.many.readyMs.p50 / 1000, 2)} / ${fmt(c.many.readyMs.p90 / 1000, 2)} / ${fmt(c.many.readyMs.max / 1000, 2)} s`,
          String(c.many.count),
        ],
      ],
    ),
    '',
    `Reconciles at rest over ${c.rest.seconds} s: ${c.rest.total} in total for ${restValues.length} connections ` +
      `(at most ${c.rest.max} for one connection; the controller's periodic resync is every 10 minutes).`,
  ].join('\n');
}

function footprintSection(result: BenchResult): string {
  const f = result.footprint;
  const names = [...new Set([...Object.keys(f.idle), ...Object.keys(f.rest)])];
  const rows = names.map((n) => [
    n,
    mib(f.idle[n]),
    mib(f.rest[n]?.maxRss),
    f.rest[n] ? fmt((f.rest[n].cpuMs / f.rest[n].ms) * 60_000, 0) : 'n/a',
    mib(f.load.connector?.usage[n]?.maxRss),
    mib(f.load.passthrough?.usage[n]?.maxRss),
  ]);
  const loadRows = (['connector', 'passthrough'] as const).flatMap((path) => {
    const l = f.load[path];
    if (!l) return [];
    const proxy = l.usage[`${path}-proxy`];
    return [
      [
        path,
        l.shortfall ? `${l.watches} (${l.watchesRequested} asked)` : String(l.watches),
        String(l.requests),
        `${l.eventsDelivered} / ${l.eventsExpected}`,
        fmt(l.seconds, 1),
        proxy ? fmt(proxy.cpuMs / 1000, 2) : 'n/a',
        proxy ? fmt((proxy.cpuMs / l.requests) * 1000, 0) : 'n/a',
        mib(l.beforeRss?.[`${path}-proxy`]),
        mib(l.openRss?.[`${path}-proxy`]),
        mib(proxy?.maxRss),
        l.upstreamWatches ? String(l.upstreamWatches.during - l.upstreamWatches.before) : 'n/a',
      ],
    ];
  });
  const costs = memoryCosts(result);
  return [
    table(
      [
        'process',
        'RSS idle (no claims)',
        'peak RSS at rest',
        'CPU ms / min at rest',
        'peak RSS, connector load',
        'peak RSS, passthrough load',
      ],
      rows,
    ),
    '',
    table(
      [
        'load through',
        'watches',
        'write requests',
        'events delivered / expected',
        'seconds',
        'proxy CPU s',
        'proxy CPU ms / 1000 writes',
        'proxy RSS before the watches',
        'proxy RSS, watches open before the writes',
        'proxy peak RSS',
        'watches the control plane served for them',
      ],
      loadRows,
    ),
    '',
    `Memory of the connector proxy: ${costs.perThousandClaims === undefined ? 'n/a' : mib(costs.perThousandClaims)} ` +
      `per 1 000 cached claims (RSS at rest over idle, ${f.cachedClaims ?? 'n/a'} claims cached); ` +
      `${kib(costs.openWatch)} per open watch (RSS with the watches open, before the writes, over RSS before they ` +
      `opened), ${kib(costs.perWatch)} per watch under the writes (peak RSS under the watch load over RSS before). ` +
      `The pass-through proxy: ${kib(costs.passthroughOpenWatch)} and ${kib(costs.passthroughPerWatch)}.`,
    ...proxyMemoryTable(f.proxyMemory),
    ...(['connector', 'passthrough'] as const).flatMap((path) => {
      const short = f.load[path]?.shortfall;
      return short
        ? [
            '',
            `**${path}: only ${short.opened} of ${f.load[path]!.watchesRequested} watches opened** (${short.error}); ` +
              `the load ran with ${f.load[path]!.watches}.`,
          ]
        : [];
    }),
  ].join('\n');
}

/** A process's RSS and what its V8 heap and the memory outside the heap (Buffers, TLS) account for, in bytes. */
export interface ProcessMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

/** The connector proxy's memory by kind: the rest of RSS is code, stacks and what the allocator has not returned. */
export function proxyMemoryTable(memory: Record<string, ProcessMemory> | undefined): string[] {
  if (!memory || Object.keys(memory).length === 0) return [];
  const rows = Object.entries(memory).map(([when, m]) => [
    when,
    mib(m.rss),
    mib(m.heapTotal),
    mib(m.heapUsed),
    mib(m.external),
    mib(m.rss - m.heapTotal - m.external),
  ]);
  return [
    '',
    "Where the connector proxy's memory goes (its nodejs_* metrics beside /proc):",
    '',
    table(['when', 'RSS', 'V8 heap committed', 'V8 heap used', 'external (Buffers)', 'the rest'], rows),
  ];
}

/**
 * What a cached claim and an open watch cost the proxies in RSS, from the footprint's windows (undefined where a
 * window is missing). RSS moves with the garbage collector: read these as estimates. Pure.
 */
export function memoryCosts(result: BenchResult): {
  perThousandClaims?: number;
  perWatch?: number;
  passthroughPerWatch?: number;
  openWatch?: number;
  passthroughOpenWatch?: number;
} {
  const f = result.footprint;
  const perWatch = (path: 'connector' | 'passthrough', when: 'open' | 'peak') => {
    const load = f.load[path];
    const before = load?.beforeRss?.[`${path}-proxy`];
    const rss = when === 'open' ? load?.openRss?.[`${path}-proxy`] : load?.usage[`${path}-proxy`]?.maxRss;
    return load && load.watches > 0 && before !== undefined && rss !== undefined
      ? (rss - before) / load.watches
      : undefined;
  };
  const idle = f.idle['connector-proxy'];
  const atRest = f.rest['connector-proxy']?.endRss;
  return {
    perThousandClaims:
      f.cachedClaims && idle !== undefined && atRest !== undefined
        ? ((atRest - idle) / f.cachedClaims) * 1000
        : undefined,
    perWatch: perWatch('connector', 'peak'),
    passthroughPerWatch: perWatch('passthrough', 'peak'),
    openWatch: perWatch('connector', 'open'),
    passthroughOpenWatch: perWatch('passthrough', 'open'),
  };
}

/** How the connector proxy answered the request overhead's reads: from its claim cache or the control plane. */
function readsSection(result: BenchResult): string {
  const r = result.overhead.reads;
  if (!r) return 'No read accounting in this run.';
  const total = r.fromCache + r.forwarded;
  const share = total > 0 ? ` (${((r.fromCache / total) * 100).toFixed(1)}% from the cache)` : '';
  return [
    `Gets and lists through the connector: ${r.fromCache} answered from the claim cache, ${r.forwarded} forwarded to ` +
      `the control plane${share}. Consistent reads (no resourceVersion) wait until the cache has seen the control ` +
      "plane's current resourceVersion, or are forwarded:",
    '',
    table(
      ['outcome', 'reads', 'mean wait ms'],
      (['fresh', 'timeout', 'behind'] as const).map((o) => [
        o,
        String(r.consistent[o].count),
        fmt(r.consistent[o].meanWaitMs, 1),
      ]),
    ),
  ].join('\n');
}

function profileSection(result: BenchResult): string {
  const p = result.profile;
  if (!p) return 'No profile in this run.';
  const rows = (shares: ProfileSummary['self']) =>
    shares.map((s) => [s.name.replace(/\|/g, '\\|'), fmt(s.ms, 0), `${s.percent}%`]);
  return [
    `The connector's proxy under \`node --cpu-prof\` during one more repetition of its request chain ` +
      `(${p.requests} requests; ${p.summary.busyMs} ms busy in a ${p.summary.windowMs} ms window).`,
    '',
    'Self time by module:',
    '',
    table(['module', 'ms', 'share of busy'], rows(p.summary.modules)),
    '',
    'Self time by function:',
    '',
    table(['function', 'ms', 'share of busy'], rows(p.summary.self)),
    '',
    "Inclusive time of the project's own functions:",
    '',
    table(['function', 'ms', 'share of busy'], rows(p.summary.inclusive)),
  ].join('\n');
}

export function markdown(result: BenchResult, chartFile: string): string {
  const m = result.machine;
  const cfg = result.config;
  const o = cfg.overhead;
  return [
    `# ctp-connector benchmark — ${result.startedAt.slice(0, 10)} (${cfg.mode})`,
    '',
    `${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, Kubernetes ${m.kubernetes}. ` +
      `Load average at start ${m.loadAverage.start.map((l) => l.toFixed(2)).join(' ')}, at end ` +
      `${m.loadAverage.end.map((l) => l.toFixed(2)).join(' ')} (other work shared the machine). ` +
      `Run took ${fmt(result.durationSeconds / 60, 1)} min.`,
    '',
    result.deviations.length
      ? `**Scaled run**: ${result.deviations.join('; ')}.`
      : 'Full parameters (no scaling flags).',
    '',
    "Paths: **a** direct to the control plane; **b** through the app cluster's kube-apiserver and a minimal " +
      'pass-through aggregated proxy (bytes only, the floor for any proxy on this path); **c** through the app ' +
      "cluster's kube-apiserver and the ctp-connector proxy. Ratios are medians of c over medians of b or a " +
      '(latency: above 1 is slower). Absolute times on a shared machine are noise; read the ratios.',
    '',
    `Parameters: ${cfg.reps} repetitions per path (order rotated), warm-up ${o.warmupFraction * 100}% of each count; ` +
      `get ${o.counts.get} at concurrency ${o.concurrency.get}; lists of ${o.listSizes.join(', ')} claims ` +
      `(${o.counts.list.join(', ')} lists at concurrency ${o.concurrency.list.join(', ')}, pages of ${o.pageSize}); ` +
      `writes ${o.counts.write} each at concurrency ${o.concurrency.write}; watch events ${o.counts.watch} at ` +
      `concurrency ${o.concurrency.watch}. ${result.seeding.claims} claims seeded in ${fmt(result.seeding.seconds, 0)} s.`,
    '',
    '## Request overhead',
    '',
    summaryTable(result),
    '',
    `![latency distributions](${chartFile})`,
    '',
    '<details><summary>Every measurement with its spread</summary>',
    '',
    detailTable(result),
    '',
    '</details>',
    '',
    '### Reads from the cache',
    '',
    readsSection(result),
    '',
    '### CPU per 1 000 requests',
    '',
    cpuTable(result),
    '',
    '## Convergence',
    '',
    convergenceSection(result),
    '',
    '## Footprint',
    '',
    footprintSection(result),
    '',
    '## Profile',
    '',
    profileSection(result),
    '',
  ].join('\n');
}

const colors: Record<PathName, string> = { direct: '#4c78a8', passthrough: '#f58518', connector: '#54a24b' };

/**
 * Latency distributions as horizontal box plots on a logarithmic axis: per operation one row per path, whiskers
 * p1–p99, box p25–p75, a bar at the median (all repetitions' samples together).
 */
export function chart(result: BenchResult): string {
  const rows = result.overhead.operations.flatMap((op) =>
    pathNames.flatMap((path) => {
      const s = result.overhead.summary.find((r) => r.op === op && r.path === path);
      return s ? [{ op, path, d: s.distribution }] : [];
    }),
  );
  const values = rows.flatMap((r) => [r.d.p1, r.d.p99]).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 10)));
  const left = 130;
  const width = 900;
  const plot = width - left - 20;
  const rowH = 14;
  const groupGap = 10;
  const top = 40;
  const xOf = (v: number) => left + (Math.log10(Math.max(v, lo) / lo) / Math.log10(hi / lo)) * plot;
  const parts: string[] = [];
  let y = top;
  let lastOp = '';
  for (const r of rows) {
    if (r.op !== lastOp) {
      if (lastOp) y += groupGap;
      parts.push(
        `<text x="${left - 8}" y="${y + rowH * 1.5 + 4}" text-anchor="end" class="op">${r.op}</text>`,
      );
      lastOp = r.op;
    }
    const cy = y + rowH / 2;
    const c = colors[r.path];
    parts.push(
      `<line x1="${xOf(r.d.p1).toFixed(1)}" x2="${xOf(r.d.p99).toFixed(1)}" y1="${cy}" y2="${cy}" stroke="${c}"/>`,
      `<rect x="${xOf(r.d.p25).toFixed(1)}" y="${y + 2}" width="${Math.max(1, xOf(r.d.p75) - xOf(r.d.p25)).toFixed(1)}" height="${rowH - 4}" fill="${c}" fill-opacity="0.35" stroke="${c}"/>`,
      `<line x1="${xOf(r.d.p50).toFixed(1)}" x2="${xOf(r.d.p50).toFixed(1)}" y1="${y + 1}" y2="${y + rowH - 1}" stroke="${c}" stroke-width="2"/>`,
    );
    y += rowH;
  }
  const bottom = y + 10;
  const ticks: string[] = [];
  for (let v = lo; v <= hi * 1.0001; v *= 10) {
    const tx = xOf(v).toFixed(1);
    ticks.push(
      `<line x1="${tx}" x2="${tx}" y1="${top - 5}" y2="${bottom}" stroke="#ddd"/>`,
      `<text x="${tx}" y="${bottom + 14}" text-anchor="middle">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`,
    );
  }
  const legend = pathNames
    .map(
      (p, i) =>
        `<rect x="${left + i * 150}" y="12" width="12" height="12" fill="${colors[p]}"/><text x="${left + i * 150 + 18}" y="22">${p}</text>`,
    )
    .join('');
  const height = bottom + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    '<style>.op{font-weight:bold}</style>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...ticks,
    legend,
    `<text x="${width - 20}" y="22" text-anchor="end">whiskers p1–p99, box p25–p75, bar p50 (log scale)</text>`,
    ...parts,
    `<text x="${left + plot / 2}" y="${bottom + 30}" text-anchor="middle">latency</text>`,
    '</svg>',
    '',
  ].join('\n');
}
