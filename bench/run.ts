// `make bench`: one run measures convergence, request overhead on three paths, footprint and a CPU profile, on
// local clusters, and writes bench/results/<date>.json, .md and .svg. `--smoke` runs the same with tiny counts.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mainScript, prepareConnector } from '../e2e/harness/connector.ts';
import {
  compiledMainScript,
  imageNodeOptions,
  startOperatorProcess,
  startProxyProcess,
  type ProcessPlace,
} from '../e2e/harness/connector-processes.ts';
import { kubectl } from '../e2e/harness/kubectl.ts';
import { freePorts } from '../e2e/harness/ports.ts';
import type { ManagedProcess } from '../e2e/harness/processes.ts';
import { repoRoot } from '../e2e/harness/paths.ts';
import { metricSample, scrapeMetrics } from '../e2e/harness/metrics.ts';
import { waitFor } from '../e2e/harness/wait.ts';
import { claim, createAll, storedClaim, type Creation } from './claims.ts';
import { configFromArgs, deviations, usage, type BenchConfig } from './config.ts';
import {
  connectAndTime,
  connectionSpec,
  deleteAndTime,
  manyConnectionsAndTime,
  newAPIAndTime,
  reconcileCounts,
  type APIChangeTimes,
  type ConnectionTimes,
} from './convergence.ts';
import { cacheReads, openWatches } from './cache.ts';
import { readProcess, readRss, sample } from './footprint.ts';
import { callOk, call, parse } from './http.ts';
import { operations, runChain, type ChainContext, type OpRun } from './overhead.ts';
import { pathOrder, requestPaths } from './paths.ts';
import { summarizeProfile, type CpuProfile } from './profile.ts';
import { chart, markdown, summaryTable, type BenchResult, type ProcessMemory } from './report.ts';
import {
  claimGroup,
  connectionName,
  ensureNamespaces,
  installPassthroughCRD,
  namespaces,
  ownEnvironment,
  passthroughGroup,
  plural,
  startPassthroughService,
  targetNamespace,
  version,
  type BenchEnvironment,
  type PassthroughService,
} from './setup.ts';
import { percentile, spread } from './stats.ts';
import { ratios, summarizeRuns } from './summary.ts';
import { watchLoad } from './watchload.ts';

export interface RunResult {
  result: BenchResult;
  files: { json: string; markdown: string; chart: string };
}

export interface BenchRunOptions {
  /** Clusters to use (the integration tests' shared ones); default: fresh clusters, removed at the end. */
  env?: BenchEnvironment;
  outDir: string;
  log?: (message: string) => void;
}

export async function runBench(config: BenchConfig, options: BenchRunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const log =
    options.log ??
    ((m: string) => process.stdout.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0)}s] ${m}\n`));
  const startedAt = new Date();
  const loadStart = loadavg();
  const owned = !options.env;
  log(`starting (${config.mode}); load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);
  const env = options.env ?? (await ownEnvironment());
  const work = join(env.dir, 'bench');
  mkdirSync(work, { recursive: true });
  // The connector runs compiled and with the image's Node options, as in the image.
  const place: ProcessPlace = {
    dir: work,
    pidFile: env.pidFile,
    script: await compiledMainScript(),
    nodeOptions: imageNodeOptions(),
  };
  const processes: ManagedProcess[] = [];
  let passthrough: PassthroughService | undefined;
  /** Connections that exist, and every control-plane namespace one was given: removed at the end on shared clusters. */
  const connections: string[] = [];
  const targetNamespaces: string[] = [];
  const o = config.overhead;
  try {
    // --- setup
    await prepareConnector(env.app, readFileSync(env.controlPlane.kubeconfigPath, 'utf8'));
    await installPassthroughCRD(env);
    const benchNamespaces = [
      ...o.listSizes.map(namespaces.list),
      namespaces.writes,
      namespaces.watch,
      namespaces.load,
    ];
    await ensureNamespaces(env.controlPlane, benchNamespaces);
    await ensureNamespaces(env.app, benchNamespaces);
    const [proxyPort] = (await freePorts(1)) as [number];
    const operator = startOperatorProcess(env.app, {
      ...place,
      name: 'operator',
      localProxyPort: proxyPort,
      logLevel: 'debug',
    });
    processes.push(operator);
    await waitFor(
      () => (readFileSync(operator.logFile, 'utf8').includes('caches synced') ? true : undefined),
      {
        timeoutMs: 60_000,
        what: `the operator to start (log: ${operator.logFile})`,
      },
    );
    const proxyProcess = (
      connection: string,
      name: string,
      extra: { nodeOptions?: string[]; metricsAddress?: string; script?: string } = {},
    ) => {
      const p = startProxyProcess(env.app, { ...place, name, connection, port: proxyPort, ...extra });
      processes.push(p);
      return p;
    };
    // A proxy drains before it exits (and one under --cpu-prof writes its profile then): give it the time.
    const stopProcess = async (p: ManagedProcess) => {
      await p.stop(30_000);
      processes.splice(processes.indexOf(p), 1);
    };

    // --- convergence of single connections and of claim APIs
    const connectionReps: ConnectionTimes[] = [];
    const apiReps: APIChangeTimes[] = [];
    const deleteReps: number[] = [];
    for (let i = 0; i < config.convergence.reps; i++) {
      const name = `bench-conv-${i}`;
      log(`convergence ${i + 1}/${config.convergence.reps}: ${name}`);
      connections.push(name);
      targetNamespaces.push(name);
      const { times, proxy } = await connectAndTime(env, name, connectionSpec(name), () =>
        proxyProcess(name, `proxy-${name}`),
      );
      connectionReps.push(times);
      apiReps.push(await newAPIAndTime(env, `new${i}.${passthroughGroup}`));
      deleteReps.push(await deleteAndTime(env, [name]));
      connections.splice(connections.indexOf(name), 1);
      await stopProcess(proxy);
    }

    // --- the measured connection and the pass-through proxy
    log('connecting the measured connection');
    const proxyMetrics = `127.0.0.1:${(await freePorts(1))[0]}`;
    connections.push(connectionName);
    targetNamespaces.push(targetNamespace);
    const bench = await connectAndTime(
      env,
      connectionName,
      connectionSpec(targetNamespace, {
        credentials: { mode: 'Passthrough' },
        apis: { include: [{ group: claimGroup }] },
      }),
      () => proxyProcess(connectionName, 'connector-proxy', { metricsAddress: proxyMetrics }),
    );
    let connectorProxy = bench.proxy;
    const clusterID = parse<{ status?: { clusterID?: string } }>(
      await callOk(
        env.admin.app,
        'GET',
        `/apis/connect.ctp.dev/v1alpha1/controlplaneconnections/${connectionName}`,
      ),
    ).status?.clusterID;
    if (!clusterID) throw new Error('the measured connection reports no clusterID');
    passthrough = await startPassthroughService(env, place);
    const footprintPids = () => ({
      operator: operator.pid,
      'connector-proxy': connectorProxy.pid,
      'passthrough-proxy': passthrough?.process.pid,
    });
    const idle = readRss(footprintPids());
    const proxyMemory: Record<string, ProcessMemory> = {};
    const readProxyMemory = async (when: string) => {
      proxyMemory[when] = memoryOf(await scrapeMetrics(proxyMetrics), readProcess(connectorProxy.pid).rss);
    };
    await readProxyMemory('idle');

    // --- claims: every list size, once for the direct/pass-through group and once as the connector stores them
    const seedObjects: Creation[] = o.listSizes.flatMap((size) =>
      Array.from({ length: size }, (_, i) => [
        {
          path: `/apis/${passthroughGroup}/${version}/namespaces/${namespaces.list(size)}/${plural}`,
          body: claim(passthroughGroup, `claim-${i}`),
        },
        storedClaim(clusterID, namespaces.list(size), `claim-${i}`),
      ]).flat(),
    );
    log(`seeding ${seedObjects.length} claims`);
    const seedStart = performance.now();
    await createAll(env.admin.controlPlane, seedObjects, config.seedConcurrency);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const paths = requestPaths(env);
    const largest = o.listSizes.at(-1)!;
    const connectorSees = async () => {
      const a = await call(
        paths.connector.target,
        'GET',
        `${paths.connector.collection(namespaces.list(largest))}`,
      );
      return a.status === 200 && parse<{ items: unknown[] }>(a).items.length === largest ? true : undefined;
    };
    await waitFor(connectorSees, {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      what: 'the connector to list every claim',
    });

    // --- many connections, then the at-rest window
    const scaleNames = Array.from({ length: config.convergence.connections }, (_, i) => `bench-scale-${i}`);
    log(`${scaleNames.length} connections at once`);
    connections.push(...scaleNames);
    targetNamespaces.push(...scaleNames);
    const many = await manyConnectionsAndTime(env, scaleNames, (n) => n);
    await sleep(5_000);
    log(`at rest for ${config.convergence.restSeconds} s`);
    const offset = statSync(operator.logFile).size;
    const restSampler = sample(footprintPids(), 1_000);
    await sleep(config.convergence.restSeconds * 1_000);
    const rest = restSampler.stop();
    const counts = reconcileCounts(readFileSync(operator.logFile).subarray(offset).toString('utf8'), [
      connectionName,
      ...scaleNames,
    ]);

    // --- request overhead
    const chainPids = () => ({
      'connector-proxy': connectorProxy.pid,
      'passthrough-proxy': passthrough?.process.pid,
      'app-apiserver': env.app.pids.apiserver,
      'cp-apiserver': env.controlPlane.pids.apiserver,
      'cp-etcd': env.controlPlane.pids.etcd,
    });
    const ctx: ChainContext = { env, settings: o, clusterID, pids: chainPids() };
    const runs: OpRun[] = [];
    await readProxyMemory('at rest');
    const metricsBefore = await scrapeMetrics(proxyMetrics);
    for (let rep = 0; rep < config.reps; rep++) {
      for (const name of pathOrder(rep)) {
        log(`request overhead: repetition ${rep + 1}/${config.reps}, ${name}`);
        runs.push(...(await runChain(ctx, paths[name], rep)));
      }
    }
    const reads = cacheReads(metricsBefore, await scrapeMetrics(proxyMetrics));
    await readProxyMemory('after the request overhead');

    // --- footprint under load
    log(`footprint under load: ${config.load.watches} watches`);
    const loadPids = { ...footprintPids(), 'app-apiserver': env.app.pids.apiserver };
    const upstream = (group: string) => async () =>
      openWatches(
        (await callOk(env.admin.controlPlane, 'GET', '/metrics')).body.toString('utf8'),
        group,
        plural,
      );
    const loadConnector = await watchLoad(paths.connector, config.load, loadPids, upstream(claimGroup));
    const loadPassthrough = await watchLoad(
      paths.passthrough,
      config.load,
      loadPids,
      upstream(passthroughGroup),
    );

    // --- profile: one more repetition of the connector's chain, its proxy under --cpu-prof
    let profile: BenchResult['profile'];
    if (config.profile) {
      log('profiling the connector proxy');
      const profileDir = join(work, 'cpuprofile');
      await stopProcess(connectorProxy);
      // From the sources: type stripping keeps every position, so the profile names our lines (a compiled file's
      // lines differ); CPU is the same once compiled by V8.
      connectorProxy = proxyProcess(connectionName, 'connector-proxy-profiled', {
        nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
        script: mainScript,
      });
      await waitFor(connectorSees, {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: 'the profiled proxy to serve',
      });
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      const profiled = await runChain({ ...ctx, pids: chainPids() }, paths.connector, config.reps);
      const toUs = Number(process.hrtime.bigint() / 1000n);
      await stopProcess(connectorProxy);
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`the profiled proxy wrote no profile into ${profileDir}`);
      const cpuProfile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
      mkdirSync(options.outDir, { recursive: true });
      writeFileSync(
        join(options.outDir, `${startedAt.toISOString().slice(0, 10)}.cpuprofile`),
        JSON.stringify(cpuProfile),
      );
      profile = {
        requests: profiled.reduce((n, r) => n + r.measurement.count, 0),
        summary: summarizeProfile(cpuProfile, { repoRoot, fromUs, toUs }),
      };
    }

    // --- result
    const ops = operations(o);
    const summary = summarizeRuns(runs, ops);
    const kubernetes = parse<{ gitVersion?: string }>(
      await callOk(env.admin.controlPlane, 'GET', '/version'),
    ).gitVersion;
    const manyReady = many.readyMs;
    const finishedAt = new Date();
    const result: BenchResult = {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      config,
      deviations: deviations(config),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.versions.node,
        kubernetes: kubernetes ?? 'unknown',
        loadAverage: { start: loadStart, end: loadavg() },
      },
      seeding: { claims: seedObjects.length, seconds: seedSeconds },
      overhead: { operations: ops, runs, summary, ratios: ratios(summary, ops), reads },
      convergence: {
        connection: {
          reps: connectionReps,
          appliedMs: spread(connectionReps.map((r) => r.appliedMs)),
          readyMs: spread(connectionReps.map((r) => r.readyMs)),
        },
        benchConnection: bench.times,
        newAPI: {
          reps: apiReps,
          availableMs: spread(apiReps.map((r) => r.availableMs)),
          removedMs: spread(apiReps.map((r) => r.removedMs)),
        },
        deleteMs: spread(deleteReps),
        many: {
          count: many.count,
          readyMs: {
            p50: percentile(manyReady, 50),
            p90: percentile(manyReady, 90),
            max: Math.max(...manyReady),
          },
        },
        rest: {
          seconds: config.convergence.restSeconds,
          counts,
          total: Object.values(counts).reduce((a, b) => a + b, 0),
          max: Math.max(...Object.values(counts)),
        },
      },
      footprint: {
        idle,
        rest,
        cachedClaims: o.listSizes.reduce((a, b) => a + b, 0),
        load: { connector: loadConnector, passthrough: loadPassthrough },
        proxyMemory,
      },
      ...(profile ? { profile } : {}),
    };
    const files = writeResult(result, options.outDir);
    log(`wrote ${files.json}, ${files.markdown} and ${files.chart}`);
    return { result, files };
  } finally {
    if (!owned) await removeBenchObjects(env, connections, targetNamespaces, o.listSizes, log);
    await passthrough?.stop().catch(() => undefined);
    for (const p of [...processes].reverse()) await p.stop();
    keepLogs(work, join(options.outDir, 'logs'));
    if (owned) await env.stop();
  }
}

/** The operator's and the proxies' logs outlive the clusters' directory (not committed: see .gitignore). */
function keepLogs(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from).filter((f) => f.endsWith('.log')))
    copyFileSync(join(from, file), join(to, file));
}

function writeResult(result: BenchResult, outDir: string): RunResult['files'] {
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, result.startedAt.slice(0, 10));
  const files = { json: `${base}.json`, markdown: `${base}.md`, chart: `${base}.svg` };
  writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(files.chart, chart(result));
  writeFileSync(files.markdown, markdown(result, `${result.startedAt.slice(0, 10)}.svg`));
  return files;
}

/**
 * On shared clusters, leave nothing behind that other tests could trip over: connections first (while the operator
 * still runs their finalizers), then the benchmark's namespaces and CRD.
 */
async function removeBenchObjects(
  env: BenchEnvironment,
  connections: string[],
  targetNamespaces: string[],
  listSizes: number[],
  log: (m: string) => void,
): Promise<void> {
  try {
    if (connections.length) await deleteAndTime(env, connections);
  } catch (err) {
    log(`could not delete connections ${connections.join(', ')}: ${String(err)}`);
  }
  const cpNamespaces = [
    ...listSizes.map(namespaces.list),
    namespaces.writes,
    namespaces.watch,
    namespaces.load,
    ...targetNamespaces,
  ];
  await kubectl(env.controlPlane, [
    'delete',
    'namespace',
    ...cpNamespaces,
    '--ignore-not-found',
    '--wait=false',
  ]);
  await kubectl(env.controlPlane, [
    'delete',
    'crd',
    `${plural}.${passthroughGroup}`,
    '--ignore-not-found',
    '--timeout=120s',
  ]);
  await kubectl(env.app, [
    'delete',
    'namespace',
    ...listSizes.map(namespaces.list),
    namespaces.writes,
    namespaces.watch,
    namespaces.load,
    '--ignore-not-found',
    '--wait=false',
  ]);
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const { config, out } = configFromArgs(argv);
  runBench(config, { outDir: out ?? join(repoRoot, 'bench', 'results') })
    .then(({ result }) => {
      process.stdout.write(`\n${summaryTable(result)}\n`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(
        `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    });
}

/** Where a process's RSS goes, from its prom-client default metrics (V8 heap, memory outside it). */
function memoryOf(exposition: string, rss: number): ProcessMemory {
  return {
    rss,
    heapTotal: metricSample(exposition, 'nodejs_heap_size_total_bytes'),
    heapUsed: metricSample(exposition, 'nodejs_heap_size_used_bytes'),
    external: metricSample(exposition, 'nodejs_external_memory_bytes'),
  };
}
