// Real Crossplane in a local cluster, as its Helm chart runs it but as processes on loopback: `crossplane core init`
// (the core CRDs of the built version, the root CA and Crossplane's client certificate), then `crossplane core start`
// with its own ports, and the test composition function (e2e/fixtures/function) served over gRPC with TLS and wired
// in through a Function and an active FunctionRevision whose status.endpoint names it, with the sample Compositions.
//
// What Crossplane v2.3.4 requires of a function (internal/xfn/function_runner.go): an active FunctionRevision
// labelled pkg.crossplane.io/package=<function name>, its status.endpoint a gRPC target; Crossplane dials it with
// the client certificate of the Secret crossplane-tls-client and verifies the server certificate against the root CA
// of crossplane-root-ca (the host of the target is the name checked). The package manager would pull the package
// and run it as a Deployment; here both objects are paused (crossplane.io/paused) so it leaves them alone, and the
// harness issues the server certificate from that CA and sets the endpoint, as the package manager's runtime does.
import { appendFileSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { issueCertificate, type KeyPair } from '../../operator/src/pki/certificates.ts';
import { binaryPath } from './binaries.ts';
import { fixturesDir } from './fixtures.ts';
import { kubectl, kubectlOk, runCaptured, type KubectlTarget } from './kubectl.ts';
import { freePorts } from './ports.ts';
import { startProcess, waitWhileRunning, type ManagedProcess } from './processes.ts';
import { waitFor } from './wait.ts';

export const crossplaneNamespace = 'crossplane-system';
/** The Function every sample Composition's pipeline calls (e2e/fixtures/crossplane/compositions.yaml). */
export const testFunctionName = 'function-ctp-e2e';
const secrets = { ca: 'crossplane-root-ca', client: 'crossplane-tls-client' } as const;

export interface Crossplane {
  /** `crossplane core start`, then the function; both stop with the cluster. */
  processes: ManagedProcess[];
  ports: { metrics: number; healthProbe: number; webhook: number; function: number };
  /** The FunctionRevision's status.endpoint. */
  functionEndpoint: string;
  /** Milliseconds: `core init`, `core start` until /readyz, the function wired in. */
  timings: { init: number; start: number; function: number };
}

export interface CrossplaneOptions {
  /** Names the processes and their logs. */
  name: string;
  /** Directory for logs, certificates and the package cache. */
  dir: string;
  kubeconfigPath: string;
  pidFile: string;
  timeoutMs: number;
}

/** The core CRDs of the Crossplane binary in use: `make tools` keeps them beside it. */
export function crossplaneCRDsDir(): string {
  return join(dirname(realpathSync(binaryPath('crossplane'))), 'crds');
}

export async function startCrossplane(options: CrossplaneOptions): Promise<Crossplane> {
  const { name, dir, kubeconfigPath, pidFile, timeoutMs } = options;
  const target: KubectlTarget = { kubeconfigPath, dir };
  const env = { ...process.env, KUBECONFIG: kubeconfigPath };
  const processes: ManagedProcess[] = [];
  const [metrics, healthProbe, webhook, functionPort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const emptyDir = join(dir, 'webhook-configurations');
  const clientCerts = join(dir, 'tls', 'client');
  for (const d of [emptyDir, clientCerts, join(dir, 'xpkg-cache')]) mkdirSync(d, { recursive: true });

  let started = Date.now();
  await kubectlOk(target, ['create', 'namespace', crossplaneNamespace]);
  // Webhooks off: Crossplane v2 validates with CEL, and its webhook server would listen on every interface.
  const initArgs = [
    'core',
    'init',
    `--namespace=${crossplaneNamespace}`,
    `--cr-ds-path=${crossplaneCRDsDir()}`,
    `--webhook-configurations-path=${emptyDir}`,
    '--enable-webhooks=false',
    `--tlsca-secret-name=${secrets.ca}`,
    `--tls-client-secret-name=${secrets.client}`,
  ];
  // `core init` applies the CRDs and then objects of them without waiting until they are established; where it
  // is quicker than the apiserver ("no matches for kind"), it runs again (it is idempotent) once they are.
  for (let attempt = 1; ; attempt++) {
    const init = await runCaptured(binaryPath('crossplane'), initArgs, { env });
    appendFileSync(join(dir, 'crossplane-init.log'), init.stdout + init.stderr);
    if (init.code === 0) break;
    if (attempt === 3 || !init.stderr.includes('no matches for kind'))
      throw new Error(`crossplane core init failed (${init.code}):\n${init.stderr}`);
    await crdsEstablished(target);
  }
  await crdsEstablished(target);
  const init_ = Date.now() - started;

  // The chart mounts crossplane-tls-client into the pod; here its keys become files.
  const client = await secretData(target, secrets.client);
  for (const key of ['tls.crt', 'tls.key', 'ca.crt'])
    writeFileSync(join(clientCerts, key), required(client, key, secrets.client), { mode: 0o600 });

  started = Date.now();
  const crossplane = startProcess({
    name: `${name}/crossplane`,
    command: binaryPath('crossplane'),
    args: [
      'core',
      'start',
      `--namespace=${crossplaneNamespace}`,
      `--xpkg-cache-dir=${join(dir, 'xpkg-cache')}`,
      // Crossplane binds these on every interface (":<port>"); it has no flag for the host.
      `--metrics-port=${metrics}`,
      `--health-probe-port=${healthProbe}`,
      `--webhook-port=${webhook}`,
      '--enable-webhooks=false',
      `--tls-client-secret-name=${secrets.client}`,
      `--tls-client-certs-dir=${clientCerts}`,
    ],
    logFile: join(dir, 'crossplane.log'),
    pidFile,
    env,
  });
  processes.push(crossplane);
  try {
    await waitWhileRunning(
      crossplane,
      async () => ((await httpStatus(`http://127.0.0.1:${healthProbe}/readyz`)) === 200 ? true : undefined),
      { timeoutMs, what: `Crossplane /readyz in cluster ${name}` },
    );
    const start = Date.now() - started;

    started = Date.now();
    const fn = await startTestFunction(target, { name, dir, pidFile, port: functionPort, timeoutMs });
    processes.push(fn.process);
    await kubectlOk(target, ['apply', '-f', join(fixturesDir, 'crossplane', 'compositions.yaml')]);
    return {
      processes,
      ports: { metrics, healthProbe, webhook, function: functionPort },
      functionEndpoint: fn.endpoint,
      timings: { init: init_, start, function: Date.now() - started },
    };
  } catch (err) {
    for (const p of processes.reverse()) await p.stop(2_000);
    throw err;
  }
}

/**
 * The test function as a process on loopback `port` with a server certificate from Crossplane's root CA, and the
 * Function and active FunctionRevision that lead Crossplane to it.
 */
async function startTestFunction(
  target: KubectlTarget,
  options: { name: string; dir: string; pidFile: string; port: number; timeoutMs: number },
): Promise<{ process: ManagedProcess; endpoint: string }> {
  const certs = join(options.dir, 'tls', 'function');
  mkdirSync(certs, { recursive: true });
  const ca = await secretData(target, secrets.ca);
  const caPair: KeyPair = {
    certPem: required(ca, 'tls.crt', secrets.ca),
    keyPem: required(ca, 'tls.key', secrets.ca),
  };
  // The names the package manager's runtime puts into a function's certificate (its Service), and loopback, which
  // is the host of the endpoint below and so the name Crossplane verifies.
  const serving = await issueCertificate(caPair, {
    commonName: testFunctionName,
    dnsNames: [
      testFunctionName,
      `${testFunctionName}.${crossplaneNamespace}`,
      `${testFunctionName}.${crossplaneNamespace}.svc`,
      'localhost',
    ],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  writeFileSync(join(certs, 'tls.crt'), serving.certPem, { mode: 0o600 });
  writeFileSync(join(certs, 'tls.key'), serving.keyPem, { mode: 0o600 });
  writeFileSync(join(certs, 'ca.crt'), caPair.certPem, { mode: 0o600 });

  const address = `127.0.0.1:${options.port}`;
  const fn = startProcess({
    name: `${options.name}/${testFunctionName}`,
    command: process.execPath,
    args: [
      join(fixturesDir, 'function', 'main.ts'),
      `--address=${address}`,
      `--tls-server-certs-dir=${certs}`,
    ],
    logFile: join(options.dir, `${testFunctionName}.log`),
    pidFile: options.pidFile,
  });
  try {
    await waitWhileRunning(
      fn,
      () => (readFileSync(fn.logFile, 'utf8').includes('listening on') ? true : undefined),
      { timeoutMs: options.timeoutMs, what: `${testFunctionName} listening in cluster ${options.name}` },
    );
    const endpoint = `dns:///${address}`;
    await wireFunction(target, endpoint);
    return { process: fn, endpoint };
  } catch (err) {
    await fn.stop(2_000);
    throw err;
  }
}

/** The Function, its active FunctionRevision (paused, so the package manager leaves them), and the endpoint. */
async function wireFunction(target: KubectlTarget, endpoint: string): Promise<void> {
  const paused = { 'crossplane.io/paused': 'true' };
  const image = `xpkg.crossplane.io/ctp-connector/${testFunctionName}:v0.1.0`;
  await kubectlOk(
    target,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'pkg.crossplane.io/v1',
      kind: 'Function',
      metadata: { name: testFunctionName, annotations: paused },
      spec: { package: image },
    }),
  );
  const uid = await kubectlOk(target, [
    'get',
    'function',
    testFunctionName,
    '-o',
    'jsonpath={.metadata.uid}',
  ]);
  const revision = `${testFunctionName}-local`;
  await kubectlOk(
    target,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'pkg.crossplane.io/v1',
      kind: 'FunctionRevision',
      metadata: {
        name: revision,
        labels: { 'pkg.crossplane.io/package': testFunctionName },
        annotations: paused,
        ownerReferences: [
          {
            apiVersion: 'pkg.crossplane.io/v1',
            kind: 'Function',
            name: testFunctionName,
            uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { desiredState: 'Active', image, revision: 1 },
    }),
  );
  // What the runtime of a Function package would report: where it serves, and that it composes.
  await kubectlOk(target, [
    'patch',
    'functionrevision',
    revision,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { endpoint, capabilities: ['composition'] } }),
  ]);
}

/** Every CRD Established (`kubectl wait` fails at once on a CRD that has no conditions yet, so it is retried). */
function crdsEstablished(target: KubectlTarget): Promise<true> {
  const args = ['wait', '--for=condition=Established', '--timeout=30s', 'crd', '--all'];
  return waitFor(async () => ((await kubectl(target, args)).code === 0 ? true : undefined), {
    timeoutMs: 60_000,
    what: 'the Crossplane CRDs Established',
  });
}

async function secretData(target: KubectlTarget, name: string): Promise<Record<string, string>> {
  const secret = JSON.parse(
    await kubectlOk(target, ['-n', crossplaneNamespace, 'get', 'secret', name, '-o', 'json']),
  ) as { data?: Record<string, string> };
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

function required(data: Record<string, string>, key: string, secret: string): string {
  const value = data[key];
  if (!value) throw new Error(`Secret ${crossplaneNamespace}/${secret} has no ${key}`);
  return value;
}

/** The status code of a plain-HTTP GET (health endpoints on loopback). */
export async function httpStatus(url: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.status;
}
