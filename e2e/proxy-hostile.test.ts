// Hostile requests, sent the way an attacker with claim rights in one app namespace (or none) can send them: through
// the app cluster's real kube-apiserver, as its admin or as impersonated users, to a connection whose proxy runs as a
// process of its own. The file is a catalogue: one table row per request, with the answer it must get. After every
// row the proxy process is still alive and still answers a plain get and a dry-run create, an error is a metav1.Status
// of the right code, and the claim every row could damage is unchanged in the control plane. Requests kube-apiserver
// answers or rewrites itself (RBAC denials, paths Go cannot parse, query pairs it drops) are listed with
// kube-apiserver's answer, and the same bytes are also sent straight to the proxy. A row that harms the proxy fails and
// the next row gets a fresh replica, so each answer in the table (printed at the end) is the row's own.
import { readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { controlPlaneName, labelValue } from '../operator/src/claims/identity.ts';
import { claimManifest, pausedAnnotation, settledInControlPlane, type Claim } from './harness/claims.ts';
import { prepareConnector } from './harness/connector.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import {
  connectWithProxyProcess,
  type ProcessConnection,
  type ProxyReplica,
} from './harness/proxy-process.ts';
import {
  endpointOf,
  impersonating,
  jsonOf,
  rawClient,
  type RawAnswer,
  type RawClient,
  type RawRequest,
} from './harness/raw-https.ts';
import { controlPlaneCredential, sharedCluster } from './harness/shared.ts';
import { waitFor } from './harness/wait.ts';

const app = sharedCluster('app');
const cp = sharedCluster('control-plane');
const target = 'team-hostile';
const nsA = 'hostile-a'; // the attacker's namespace
const nsB = 'hostile-b'; // someone else's
const nsX = 'hostile-x'; // where collections are deleted
const nsMissing = 'hostile-missing'; // never created
const nsTerminating = 'hostile-terminating'; // held in Terminating by a finalizer
const api = '/apis/platform.example.org/v1alpha1';
const collection = (ns: string) => `${api}/namespaces/${ns}/kubernetesclusters`;
/** The path of one claim; `name` is used as given, escapes and all. */
const claimPath = (ns: string, name: string) => `${collection(ns)}/${name}`;
const json: OutgoingHttpHeaders = { 'content-type': 'application/json' };
const mergePatch: OutgoingHttpHeaders = { 'content-type': 'application/merge-patch+json' };
const jsonPatch: OutgoingHttpHeaders = { 'content-type': 'application/json-patch+json' };
const applyPatch: OutgoingHttpHeaders = { 'content-type': 'application/apply-patch+yaml' };
/** An owner that does not exist in the control plane: its garbage collector would delete the claim. */
const owner = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  name: 'owner',
  uid: '6d1c8f3e-0000-4000-8000-000000000001',
};
const forgedLabels = {
  'connect.ctp.dev/cluster-id': 'someone-else',
  'connect.ctp.dev/app-namespace': nsB,
  'connect.ctp.dev/app-name': 'b-claim',
};
const forgedAnnotations = {
  'connect.ctp.dev/app-name': 'b-claim',
  'connect.ctp.dev/app-connection-secret': 'stolen',
};
// The reason kube-apiserver gives each code (apimachinery's StatusReason).
const reasons: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  406: 'NotAcceptable',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
};

/** What came back: an answer, the socket closed without one, or the request failed on the client's side. */
type Answer = RawAnswer | 'closed' | { failed: string };

// Errors of node:https come from outside jest's module realm: `instanceof Error` does not hold for them.
const failedOf = (answer: Answer) =>
  typeof answer === 'object' && 'failed' in answer ? answer.failed : undefined;

interface HostileCase {
  name: string;
  send: () => Promise<Answer>;
  /** The code that must come back; several where the contract allows either. Absent: no answer is expected. */
  code?: number | number[];
  /** kube-apiserver answers before the proxy sees the request. */
  byAPIServer?: boolean;
  /** The answer is a metav1.Status; default: when the code is an error. False for Go's plain-text 400s. */
  status?: boolean;
  check?: (answer: RawAnswer) => Promise<void> | void;
}

/** What of a stored claim the proxy owns, and its resourceVersion: compared before and after a request. */
interface StoredView {
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: unknown;
  secretName: string | undefined;
}

let connection: ProcessConnection;
let replica: ProxyReplica;
let viaApp: RawClient; // the app cluster's kube-apiserver, as its admin
let controlPlane: RawClient; // the control plane, directly, as its admin
let clusterID: string;
let knownBefore: StoredView;
const rows: { name: string; expected: string; answer: string }[] = [];

const connectorOnly = (m: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => k.startsWith('connect.ctp.dev/')));

type StoredClaim = Claim & { metadata: { ownerReferences?: unknown[]; resourceVersion: string } };

/** The claim `ns/name` as the control plane stores it; undefined when it is not there. */
async function stored(ns: string, name: string): Promise<StoredClaim | undefined> {
  const answer = await controlPlane.send({
    path: claimPath(target, controlPlaneName(name, ns, clusterID)),
  });
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`reading ${ns}/${name} from the control plane: ${answer.text}`);
  return JSON.parse(answer.text) as StoredClaim;
}

async function storedView(ns: string, name: string): Promise<StoredView | undefined> {
  let claim = await stored(ns, name);
  if (!claim) return undefined;
  // The claims here are paused in Crossplane: once it recorded that (its last write), only the connector writes them.
  if (claim.metadata.annotations?.[pausedAnnotation]) {
    await settledInControlPlane(cp, target, controlPlaneName(name, ns, clusterID));
    claim = (await stored(ns, name))!;
  }
  return {
    resourceVersion: claim.metadata.resourceVersion,
    labels: connectorOnly(claim.metadata.labels),
    annotations: connectorOnly(claim.metadata.annotations),
    ownerReferences: claim.metadata.ownerReferences,
    secretName: claim.spec.writeConnectionSecretToRef?.name,
  };
}

/** A claim through the app cluster, as its admin; throws unless it answers `code`. */
async function createClaim(manifest: Claim, code = 201): Promise<void> {
  const answer = await viaApp.send({
    method: 'POST',
    path: collection(manifest.metadata.namespace),
    headers: json,
    body: JSON.stringify(manifest),
  });
  if (answer.status !== code)
    throw new Error(`creating ${manifest.metadata.name}: ${answer.status} ${answer.text}`);
}

/** GET of a claim through the app cluster as its admin. */
const getThroughApp = (ns: string, name: string) => viaApp.send({ path: claimPath(ns, name) });

/** A get of the known claim through the app cluster answers 200 (kube-apiserver → aggregator → proxy). */
async function expectServing(): Promise<void> {
  const answer = await getThroughApp(nsA, 'known');
  expect(answer.status).toBe(200);
}

async function waitUntilServing(): Promise<void> {
  await waitFor(async () => ((await getThroughApp(nsA, 'known')).status === 200 ? true : undefined), {
    timeoutMs: 60_000,
    what: 'the known claim through the app cluster',
  });
}

function expectStatus(answer: RawAnswer): void {
  const body = jsonOf(answer);
  expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: answer.status });
  if (reasons[answer.status]) expect(body?.reason).toBe(reasons[answer.status]);
}

const messageOf = (answer: RawAnswer) => {
  const message = jsonOf(answer)?.message;
  return typeof message === 'string' ? message : '';
};

/** The claim under its app name, as it comes back through the app cluster: it did not vanish from there. */
async function expectReadableThroughApp(ns: string, name: string): Promise<Claim> {
  const answer = await getThroughApp(ns, name);
  expect(answer.status).toBe(200);
  const claim = JSON.parse(answer.text) as Claim;
  expect(claim.metadata).toMatchObject({ name, namespace: ns });
  return claim;
}

/**
 * The proxy's guarantees on a stored claim, whatever a request did to it: the connector labels and annotations it set
 * at create (`atCreate`), no ownerReferences, and the connection Secret reference mapped from the app-side name that
 * the annotation records (one of `secretNames`: the original, or the one a request legitimately renamed it to); and
 * the claim still reads back through the app cluster under its own name, with that Secret name.
 */
async function expectConnectorMetadataIntact(
  ns: string,
  name: string,
  atCreate: StoredView,
  secretNames: string[],
): Promise<void> {
  // What the proxy sets at create, as far as this test knows it (it may add keys of its own, e.g. a name scheme).
  expect(atCreate.labels).toMatchObject({
    'connect.ctp.dev/cluster-id': labelValue(clusterID),
    'connect.ctp.dev/app-namespace': ns,
    'connect.ctp.dev/app-name': name,
  });
  expect(atCreate.annotations).toMatchObject({ 'connect.ctp.dev/app-name': name });
  const claim = await stored(ns, name);
  expect(claim).toBeDefined();
  const { labels, annotations, ownerReferences } = claim!.metadata;
  expect(connectorOnly(labels)).toEqual(atCreate.labels);
  const secretKey = 'connect.ctp.dev/app-connection-secret';
  const secret = annotations?.[secretKey];
  expect(connectorOnly(annotations)).toEqual({ ...atCreate.annotations, [secretKey]: secret });
  expect(secretNames).toContain(secret);
  expect(ownerReferences ?? []).toEqual([]);
  expect(claim!.spec.writeConnectionSecretToRef?.name).toBe(controlPlaneName(secret!, ns, clusterID));
  const seen = await expectReadableThroughApp(ns, name);
  expect(seen.spec.writeConnectionSecretToRef?.name).toBe(secret);
}

// ---- building requests

const get = (path: string, headers: OutgoingHttpHeaders = {}): Promise<RawAnswer> =>
  viaApp.send({ path, headers });

const create = (ns: string, body: unknown, headers: OutgoingHttpHeaders = json, query = '') =>
  viaApp.send({
    method: 'POST',
    path: `${collection(ns)}${query}`,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const sample = (name: string, ns = nsA) =>
  claimManifest({ name, namespace: ns, connectionSecret: `${name}-conn`, paused: true });

/** A sample claim with `metadata` overridden by raw JSON values (numbers, lists: what a typed client cannot send). */
const withMetadata = (name: string, metadata: Record<string, unknown>) => {
  const claim = sample(name) as unknown as { metadata: Record<string, unknown> };
  return { ...claim, metadata: { ...claim.metadata, ...metadata } };
};

/** Reads a watch until `until` matches (or 5 s pass), then closes it; the events become the answer's body. */
async function watchAnswer(
  path: string,
  headers: OutgoingHttpHeaders = {},
  until: (e: { type: string; object: Record<string, unknown> }) => boolean = () => true,
): Promise<RawAnswer> {
  const stream = await viaApp.stream({ path, headers });
  try {
    if (stream.status !== 200)
      return { status: stream.status, headers: stream.headers, text: await stream.ended };
    await stream.next(until, 5_000).catch(() => undefined);
    return { status: 200, headers: stream.headers, text: JSON.stringify(stream.events) };
  } finally {
    stream.close();
  }
}

const eventsOf = (answer: RawAnswer) =>
  JSON.parse(answer.text) as { type: string; object: { metadata: { name: string; namespace: string } } }[];

const namesOf = (answer: RawAnswer) =>
  (JSON.parse(answer.text) as { items: Claim[] }).items.map(
    (c) => `${c.metadata.namespace}/${c.metadata.name}`,
  );

/** The proxy's port, straight: no kube-apiserver in between, so the request is exactly what an attacker sends. */
function direct(credentials: { cert?: string; key?: string } = {}): RawClient {
  // The proxy's serving certificate is not what these rows test; its peer authentication is.
  return rawClient({ host: '127.0.0.1', port: connection.port, ...credentials });
}

const frontProxyClient = () => ({
  cert: readFileSync(join(app.dir, 'pki', 'front-proxy-client.crt'), 'utf8'),
  key: readFileSync(join(app.dir, 'pki', 'front-proxy-client.key'), 'utf8'),
});

/** A request straight to the proxy with the aggregator's client certificate, for the app cluster's admin. */
const asAggregator = (r: RawRequest) =>
  direct(frontProxyClient()).send({
    ...r,
    headers: { 'x-remote-user': 'kubernetes-admin', 'x-remote-group': 'system:masters', ...r.headers },
  });

/** The "billion laughs": nine levels of nine aliases, under 1 KiB of YAML, 9^9 strings once expanded. */
function aliasBomb(name: string): string {
  const levels = 'abcdefghi'.split('');
  let yaml = `apiVersion: platform.example.org/v1alpha1\nkind: KubernetesCluster\nmetadata:\n  name: ${name}\n  namespace: ${nsA}\nspec:\n  id: ${name}\n  parameters:\n    services:\n`;
  yaml += `      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n`;
  for (let i = 1; i < levels.length; i++)
    yaml += `      ${levels[i]}: &${levels[i]} [${Array(9)
      .fill(`*${levels[i - 1]}`)
      .join(',')}]\n`;
  return yaml;
}

/** Runs `send` and fails the case when the proxy's memory grew by 100 MiB or more meanwhile. */
async function withBoundedMemory(send: () => Promise<RawAnswer>): Promise<RawAnswer> {
  const before = replica.rss();
  const answer = await send();
  const grown = replica.rss() - before;
  expect(grown).toBeLessThan(100 * 1024 * 1024);
  return answer;
}

// ---- protected metadata: each row on a claim of its own

let freshClaims = 0;

/**
 * A row that tries to change what the proxy owns on a claim: created just before (labels and annotations of its own,
 * a connection Secret), then `request` is sent. Refused (422) leaves the stored claim exactly as it was; applied (200)
 * may change only what the user sees — either way the connector metadata is intact afterwards.
 */
function protectedRow(
  name: string,
  request: (claim: { name: string; secret: string }) => RawRequest | Promise<RawRequest>,
  options: { renamesSecretTo?: string } = {},
): HostileCase {
  let claim: { name: string; secret: string; before: StoredView | undefined } | undefined;
  return {
    name,
    code: [200, 422],
    async send() {
      const claimName = `pm-${++freshClaims}`;
      const secret = `${claimName}-conn`;
      await createClaim(
        claimManifest({
          name: claimName,
          namespace: nsA,
          connectionSecret: secret,
          labels: { tier: 'gold' },
          annotations: { note: 'kept' },
          paused: true,
        }),
      );
      claim = { name: claimName, secret, before: await storedView(nsA, claimName) };
      return viaApp.send(await request(claim));
    },
    async check(answer) {
      const { name: claimName, secret, before } = claim!;
      if (answer.status === 422) expect(await storedView(nsA, claimName)).toEqual(before);
      const secrets = options.renamesSecretTo ? [secret, options.renamesSecretTo] : [secret];
      await expectConnectorMetadataIntact(nsA, claimName, before!, secrets);
    },
  };
}

const merge = (patch: unknown) => (c: { name: string }) => ({
  method: 'PATCH',
  path: claimPath(nsA, c.name),
  headers: mergePatch,
  body: JSON.stringify(patch),
});

const jsonOps = (ops: unknown[] | ((c: { name: string }) => unknown[])) => (c: { name: string }) => ({
  method: 'PATCH',
  path: claimPath(nsA, c.name),
  headers: jsonPatch,
  body: JSON.stringify(typeof ops === 'function' ? ops(c) : ops),
});

/** Server-side apply of the sample claim with `change` applied to it (JSON is YAML). */
const apply =
  (change: (claim: Claim & { metadata: Record<string, unknown> }) => void) =>
  (c: { name: string; secret: string }) => {
    const claim = claimManifest({
      name: c.name,
      namespace: nsA,
      connectionSecret: c.secret,
      paused: true,
    }) as Claim & {
      metadata: Record<string, unknown>;
    };
    change(claim);
    return {
      method: 'PATCH',
      path: `${claimPath(nsA, c.name)}?fieldManager=hostile&force=true`,
      headers: applyPatch,
      body: JSON.stringify(claim),
    };
  };

/** An update (PUT) of the claim as read through the app cluster, with `change` applied to it. */
const update =
  (change: (claim: Claim & { metadata: Record<string, unknown> }) => void) => async (c: { name: string }) => {
    const claim = JSON.parse((await getThroughApp(nsA, c.name)).text) as Claim & {
      metadata: Record<string, unknown>;
    };
    change(claim);
    return { method: 'PUT', path: claimPath(nsA, c.name), headers: json, body: JSON.stringify(claim) };
  };

/** A JSON patch that changes a claim's name or namespace: always refused, nothing stored changes. */
function renameRow(name: string, ops: unknown[]): HostileCase {
  let claimName = '';
  let before: StoredView | undefined;
  return {
    name,
    code: 422,
    async send() {
      claimName = `pm-${++freshClaims}`;
      await createClaim(sample(claimName));
      before = await storedView(nsA, claimName);
      return viaApp.send(jsonOps(ops)({ name: claimName }));
    },
    async check() {
      expect(await storedView(nsA, claimName)).toEqual(before);
      await expectReadableThroughApp(nsA, claimName);
    },
  };
}

// ---- the catalogue

const malformedEscapes: HostileCase[] = [
  // Valid escapes of bytes that are not UTF-8 reach the proxy (Go re-escapes the path it forwards).
  {
    name: 'get of a name that is an invalid UTF-8 escape (%FF)',
    send: () => get(claimPath(nsA, '%FF')),
    code: 400,
  },
  {
    name: 'get of a name with a truncated UTF-8 sequence (%E0%A4)',
    send: () => get(claimPath(nsA, '%E0%A4')),
    code: 400,
  },
  { name: 'get of an overlong UTF-8 name (%C0%AF)', send: () => get(claimPath(nsA, '%C0%AF')), code: 400 },
  {
    name: 'list in a namespace that is an invalid escape (%FF)',
    send: () => get(collection('%FF')),
    code: 400,
  },
  {
    name: 'get in a namespace with a truncated UTF-8 sequence',
    send: () => get(claimPath('%E0%A4', 'known')),
    code: 400,
  },
  {
    name: 'get of a subresource that is an invalid escape',
    send: () => get(`${claimPath(nsA, 'known')}/%FF`),
    code: 400,
  },
  {
    name: 'delete of a name that is an invalid escape',
    send: () => viaApp.send({ method: 'DELETE', path: claimPath(nsA, '%FF') }),
    code: 400,
  },
  {
    name: 'merge patch in a namespace that is an invalid escape',
    send: () =>
      viaApp.send({ method: 'PATCH', path: claimPath('%FF', 'known'), headers: mergePatch, body: '{}' }),
    code: 400,
  },
  // Escapes Go cannot decode at all: kube-apiserver refuses the URL with a plain-text 400.
  {
    name: 'get of a name with a cut escape (%E0%A4%A)',
    send: () => get(claimPath(nsA, '%E0%A4%A')),
    code: 400,
    byAPIServer: true,
    status: false,
  },
  {
    name: 'get of a name that is a lone %',
    send: () => get(claimPath(nsA, '%')),
    code: 400,
    byAPIServer: true,
    status: false,
  },
  {
    name: 'list in a namespace that is a lone %',
    send: () => get(collection('%')),
    code: 400,
    byAPIServer: true,
    status: false,
  },
  // A valid escape of a byte that is not UTF-8 in a query value reaches the proxy as it is.
  {
    name: 'fieldSelector with an invalid UTF-8 escape (%FF)',
    send: () => get(`${collection(nsA)}?fieldSelector=metadata.name%3D%FF`),
    code: 400,
  },
  {
    name: 'labelSelector with an invalid UTF-8 escape (%FF)',
    send: () => get(`${collection(nsA)}?labelSelector=tier%3D%FF`),
    code: 400,
  },
  // A query pair Go cannot decode is dropped by the aggregator, which re-encodes the query it forwards
  // (req.URL.Query().Encode()): the proxy gets the request without it, as any aggregated server would.
  ...[
    ['labelSelector with a cut escape (%E0%A4%A)', 'labelSelector=%E0%A4%A'],
    ['labelSelector that is a lone %', 'labelSelector=%'],
    ['labelSelector with a non-hex escape (%ZZ)', 'labelSelector=tier%3D%ZZ'],
    ['fieldSelector with a cut escape in metadata.name', 'fieldSelector=metadata.name%3D%E0%A4%A'],
    ['query parameter whose name is a malformed escape', '%ZZ=1'],
  ].map(([name, query]): HostileCase => ({
    name: `${name!}: kube-apiserver drops the pair`,
    send: () => get(`${collection(nsA)}?${query!}`),
    code: 200,
    byAPIServer: true,
    check: (a) => expect(namesOf(a)).toEqual(expect.arrayContaining([`${nsA}/known`, `${nsA}/other-a`])),
  })),
  {
    name: 'fieldSelector that is a lone % on a watch: kube-apiserver drops the pair',
    send: () => watchAnswer(`${collection(nsA)}?watch=true&fieldSelector=%`, {}, (e) => e.type === 'ADDED'),
    code: 200,
    byAPIServer: true,
    check: (a) => expect(eventsOf(a).some((e) => e.type === 'ADDED')).toBe(true),
  },
  // The same escapes straight to the proxy, as the aggregator: nothing in between drops them.
  ...[
    ['labelSelector with a cut escape (%E0%A4%A)', `${collection(nsA)}?labelSelector=%E0%A4%A`],
    ['labelSelector that is a lone %', `${collection(nsA)}?labelSelector=%`],
    ['labelSelector with a non-hex escape (%ZZ)', `${collection(nsA)}?labelSelector=tier%3D%ZZ`],
    [
      'fieldSelector with a cut escape in metadata.name',
      `${collection(nsA)}?fieldSelector=metadata.name%3D%E0%A4%A`,
    ],
    ['fieldSelector that is a lone % on a watch', `${collection(nsA)}?watch=true&fieldSelector=%`],
    ['query parameter whose name is a malformed escape', `${collection(nsA)}?%ZZ=1`],
    ['a name with a cut escape (%E0%A4%A)', claimPath(nsA, '%E0%A4%A')],
    ['a name that is a lone %', claimPath(nsA, '%')],
    ['a namespace that is a lone %', collection('%')],
  ].map(([name, path]): HostileCase => ({
    name: `straight to the proxy as the aggregator: ${name!}`,
    send: () => asAggregator({ path: path! }),
    code: 400,
  })),
];

const impersonationExtras: HostileCase[] = [
  {
    name: 'impersonated admin-equivalent user with extra key "%ZZ"',
    send: () => get(claimPath(nsA, 'known'), impersonating('mallory', ['system:masters'], { '%ZZ': 'x' })),
    code: 200,
    check: (a) => expect((JSON.parse(a.text) as Claim).metadata.name).toBe('known'),
  },
  {
    name: 'impersonated reader with extra key "a%2"',
    send: () => get(claimPath(nsA, 'known'), impersonating('reader', ['readers'], { 'a%2': 'x' })),
    code: 200,
    check: (a) => expect((JSON.parse(a.text) as Claim).metadata.name).toBe('known'),
  },
  {
    name: 'impersonated list by a reader with extra keys "%ZZ" and "a%2"',
    send: () => get(collection(nsA), impersonating('reader', ['readers'], { '%ZZ': 'x', 'a%2': 'y' })),
    code: 200,
    check: (a) => expect(namesOf(a)).toContain(`${nsA}/known`),
  },
  {
    name: 'impersonated user without rights with extra key "%ZZ"',
    send: () => get(claimPath(nsA, 'known'), impersonating('eve', [], { '%ZZ': 'x' })),
    code: 403,
    byAPIServer: true,
  },
];

const bodies: HostileCase[] = [
  {
    name: 'server-side apply of a YAML alias bomb ("billion laughs", < 1 KiB)',
    send: () =>
      withBoundedMemory(() => {
        const bomb = aliasBomb('bomb');
        expect(bomb.length).toBeLessThan(1024);
        return viaApp.send({
          method: 'PATCH',
          path: `${claimPath(nsA, 'bomb')}?fieldManager=x`,
          headers: applyPatch,
          body: bomb,
        });
      }),
    code: 400,
    async check(answer) {
      expect(messageOf(answer)).toMatch(/alias/i);
      expect(await stored(nsA, 'bomb')).toBeUndefined();
    },
  },
  {
    // kube-apiserver accepts YAML bodies for create; the proxy may too (without aliases), or accept JSON only.
    name: 'create whose body is a YAML alias bomb',
    send: () =>
      withBoundedMemory(() => create(nsA, aliasBomb('bomb-create'), { 'content-type': 'application/yaml' })),
    code: [400, 415],
    async check() {
      expect(await stored(nsA, 'bomb-create')).toBeUndefined();
    },
  },
  {
    name: 'create with a 4 MiB body',
    send: () => {
      const claim = sample('huge');
      (claim.spec.parameters as Record<string, unknown>).services = { blob: 'x'.repeat(4 * 1024 * 1024) };
      return create(nsA, claim);
    },
    code: 413,
    async check() {
      expect(await stored(nsA, 'huge')).toBeUndefined();
    },
  },
  {
    name: 'create whose body ends early (Content-Length 64 KiB, 200 bytes sent, then the client hangs up)',
    send: () =>
      viaApp.truncated({
        method: 'POST',
        path: collection(nsA),
        headers: json,
        body: JSON.stringify(sample('truncated')).slice(0, 200),
        contentLength: 64 * 1024,
      }),
  },
  {
    name: "same truncated body straight to the proxy (the aggregator's client certificate)",
    send: () =>
      direct(frontProxyClient()).truncated({
        method: 'POST',
        path: collection(nsA),
        headers: { ...json, 'x-remote-user': 'kubernetes-admin', 'x-remote-group': 'system:masters' },
        body: JSON.stringify(sample('truncated-direct')).slice(0, 200),
        contentLength: 64 * 1024,
      }),
  },
];

const representations: HostileCase[] = [
  {
    name: 'create with Content-Type text/plain',
    send: () => create(nsA, sample('plain'), { 'content-type': 'text/plain' }),
    code: 415,
  },
  {
    name: 'strategic-merge patch',
    send: () =>
      viaApp.send({
        method: 'PATCH',
        path: claimPath(nsA, 'known'),
        headers: { 'content-type': 'application/strategic-merge-patch+json' },
        body: '{"spec":{"id":"changed"}}',
      }),
    code: 415,
  },
  {
    name: 'get with Accept: application/yaml',
    send: () => get(claimPath(nsA, 'known'), { accept: 'application/yaml' }),
    code: 200,
    check(answer) {
      expect(answer.headers['content-type']).toMatch(/^application\/yaml/);
      const claim = load(answer.text) as Claim;
      expect(claim.metadata).toMatchObject({ name: 'known', namespace: nsA });
      expect(claim.spec.writeConnectionSecretToRef?.name).toBe('known-conn');
    },
  },
  {
    name: 'list with Accept: application/yaml',
    send: () => get(collection(nsA), { accept: 'application/yaml' }),
    code: 200,
    check(answer) {
      expect(answer.headers['content-type']).toMatch(/^application\/yaml/);
      const list = load(answer.text) as { items: Claim[] };
      expect(list.items.map((c) => c.metadata.name)).toContain('known');
    },
  },
  {
    name: 'get with Accept: application/vnd.kubernetes.protobuf only',
    send: () => get(claimPath(nsA, 'known'), { accept: 'application/vnd.kubernetes.protobuf' }),
    code: 406,
  },
  {
    name: 'get with Accept: protobuf, then JSON',
    send: () =>
      get(claimPath(nsA, 'known'), { accept: 'application/vnd.kubernetes.protobuf, application/json' }),
    code: 200,
    check: (a) => expect(a.headers['content-type']).toMatch(/^application\/json/),
  },
  {
    // The old proxy latched into "control plane unreachable" after a YAML answer and refused every later write.
    name: 'create right after the YAML and protobuf requests',
    send: () => create(nsA, sample('after-yaml')),
    code: 201,
    check: async () => expect(await stored(nsA, 'after-yaml')).toBeDefined(),
  },
];

const invalidObjects: HostileCase[] = [
  {
    name: 'create with metadata.name a number',
    send: () => create(nsA, withMetadata('x', { name: 5 })),
    code: 400,
  },
  {
    name: 'create with labels that are a string',
    send: () => create(nsA, withMetadata('labels-string', { labels: 'tier=gold' })),
    code: 400,
  },
  {
    name: 'create with labels that are a list',
    send: () => create(nsA, withMetadata('labels-list', { labels: ['tier', 'gold'] })),
    code: 400,
  },
  {
    name: 'create with an annotation value that is a number',
    send: () => create(nsA, withMetadata('annotation-number', { annotations: { note: 1 } })),
    code: 400,
  },
  {
    name: 'create with a 254-character name',
    send: () => create(nsA, sample('n'.repeat(254))),
    code: 422,
    check: async () => expect(await stored(nsA, 'n'.repeat(254))).toBeUndefined(),
  },
  { name: 'create with an uppercase name', send: () => create(nsA, sample('Upper')), code: 422 },
  {
    name: 'create with an underscore in the name',
    send: () => create(nsA, sample('under_score')),
    code: 422,
  },
  {
    name: 'create with an empty name and no generateName',
    send: () => create(nsA, withMetadata('x', { name: '' })),
    code: 422,
  },
  {
    name: "create whose body namespace differs from the URL's",
    send: () => create(nsA, sample('elsewhere', nsB)),
    code: 400,
    check: async () => {
      expect(await stored(nsA, 'elsewhere')).toBeUndefined();
      expect(await stored(nsB, 'elsewhere')).toBeUndefined();
    },
  },
  { name: 'create whose body is a JSON array', send: () => create(nsA, '[]'), code: 400 },
  { name: 'create whose body is JSON null', send: () => create(nsA, 'null'), code: 400 },
  { name: 'create whose body is not JSON', send: () => create(nsA, '{"metadata":'), code: 400 },
  {
    name: 'create whose body is another kind',
    send: () => create(nsA, { ...sample('wrong-kind'), kind: 'Database' }),
    code: 400,
    check: async () => expect(await stored(nsA, 'wrong-kind')).toBeUndefined(),
  },
];

const protectedMetadata: HostileCase[] = [
  protectedRow('merge patch setting the connector labels', merge({ metadata: { labels: forgedLabels } })),
  protectedRow(
    'merge patch removing the connector labels',
    merge({ metadata: { labels: Object.fromEntries(Object.keys(forgedLabels).map((k) => [k, null])) } }),
  ),
  protectedRow(
    'merge patch setting the connector annotations',
    merge({ metadata: { annotations: forgedAnnotations } }),
  ),
  protectedRow(
    'merge patch removing the connector annotations',
    merge({
      metadata: { annotations: Object.fromEntries(Object.keys(forgedAnnotations).map((k) => [k, null])) },
    }),
  ),
  protectedRow(
    'merge patch nulling labels and annotations',
    merge({ metadata: { labels: null, annotations: null } }),
  ),
  protectedRow('merge patch adding an owner', merge({ metadata: { ownerReferences: [owner] } })),
  protectedRow(
    'merge patch renaming the connection Secret',
    merge({ spec: { writeConnectionSecretToRef: { name: 'renamed' } } }),
    { renamesSecretTo: 'renamed' },
  ),
  protectedRow(
    'JSON patch replacing /metadata with {}',
    jsonOps([{ op: 'replace', path: '/metadata', value: {} }]),
  ),
  protectedRow('JSON patch removing /metadata', jsonOps([{ op: 'remove', path: '/metadata' }])),
  protectedRow(
    'JSON patch replacing /metadata/labels with {}',
    jsonOps([{ op: 'replace', path: '/metadata/labels', value: {} }]),
  ),
  protectedRow('JSON patch removing /metadata/labels', jsonOps([{ op: 'remove', path: '/metadata/labels' }])),
  protectedRow(
    'JSON patch replacing /metadata/annotations with {}',
    jsonOps([{ op: 'replace', path: '/metadata/annotations', value: {} }]),
  ),
  protectedRow(
    'JSON patch removing /metadata/annotations',
    jsonOps([{ op: 'remove', path: '/metadata/annotations' }]),
  ),
  protectedRow(
    'JSON patch adding a connector label',
    jsonOps([{ op: 'add', path: '/metadata/labels/connect.ctp.dev~1cluster-id', value: 'someone-else' }]),
  ),
  protectedRow(
    'JSON patch removing a connector label',
    jsonOps([{ op: 'remove', path: '/metadata/labels/connect.ctp.dev~1app-namespace' }]),
  ),
  protectedRow(
    'JSON patch replacing a connector annotation',
    jsonOps([
      {
        op: 'replace',
        path: '/metadata/annotations/connect.ctp.dev~1app-connection-secret',
        value: 'stolen',
      },
    ]),
  ),
  protectedRow(
    'JSON patch replacing the whole object ("")',
    jsonOps((c) => [
      {
        op: 'replace',
        path: '',
        value: {
          ...sample(c.name),
          metadata: {
            name: c.name,
            namespace: nsA,
            labels: forgedLabels,
            annotations: forgedAnnotations,
            ownerReferences: [owner],
          },
          spec: { id: 'replaced', writeConnectionSecretToRef: { name: `${c.name}-conn` } },
        },
      },
    ]),
  ),
  protectedRow(
    'JSON patch adding /metadata/ownerReferences',
    jsonOps([{ op: 'add', path: '/metadata/ownerReferences', value: [owner] }]),
  ),
  protectedRow(
    'JSON patch appending to /metadata/ownerReferences/-',
    jsonOps([
      { op: 'add', path: '/metadata/ownerReferences', value: [] },
      { op: 'add', path: '/metadata/ownerReferences/-', value: owner },
    ]),
  ),
  protectedRow(
    'JSON patch replacing /spec/writeConnectionSecretToRef/name',
    jsonOps([{ op: 'replace', path: '/spec/writeConnectionSecretToRef/name', value: 'renamed' }]),
    { renamesSecretTo: 'renamed' },
  ),
  protectedRow(
    'JSON patch replacing /spec/writeConnectionSecretToRef',
    jsonOps([{ op: 'replace', path: '/spec/writeConnectionSecretToRef', value: { name: 'renamed' } }]),
    { renamesSecretTo: 'renamed' },
  ),
  protectedRow(
    'JSON patch moving a connector label to a label of the user',
    jsonOps([
      { op: 'move', from: '/metadata/labels/connect.ctp.dev~1cluster-id', path: '/metadata/labels/stolen' },
    ]),
  ),
  protectedRow(
    'JSON patch copying a user label onto a connector label',
    jsonOps([
      { op: 'copy', from: '/metadata/labels/tier', path: '/metadata/labels/connect.ctp.dev~1app-namespace' },
    ]),
  ),
  protectedRow(
    'JSON patch moving /metadata/labels onto /metadata/annotations',
    jsonOps([{ op: 'move', from: '/metadata/labels', path: '/metadata/annotations' }]),
  ),
  protectedRow(
    'JSON patch copying /metadata/annotations onto /metadata/labels',
    jsonOps([{ op: 'copy', from: '/metadata/annotations', path: '/metadata/labels' }]),
  ),
  protectedRow(
    'JSON patch moving the Secret reference away and back renamed',
    jsonOps([
      { op: 'move', from: '/spec/writeConnectionSecretToRef', path: '/spec/compositionRef' },
      { op: 'add', path: '/spec/writeConnectionSecretToRef', value: { name: 'renamed' } },
      { op: 'remove', path: '/spec/compositionRef' },
    ]),
    { renamesSecretTo: 'renamed' },
  ),
  renameRow('JSON patch replacing /metadata/name', [
    { op: 'replace', path: '/metadata/name', value: 'renamed' },
  ]),
  renameRow('JSON patch replacing /metadata/namespace', [
    { op: 'replace', path: '/metadata/namespace', value: nsB },
  ]),
  renameRow('JSON patch copying a label onto /metadata/name', [
    { op: 'copy', from: '/metadata/labels/tier', path: '/metadata/name' },
  ]),
  protectedRow(
    'server-side apply setting the connector labels and annotations',
    apply((c) => Object.assign(c.metadata, { labels: forgedLabels, annotations: forgedAnnotations })),
  ),
  protectedRow(
    'server-side apply adding an owner',
    apply((c) => Object.assign(c.metadata, { ownerReferences: [owner] })),
  ),
  protectedRow(
    'server-side apply renaming the Secret with a forged app-connection-secret annotation',
    apply((c) => {
      c.spec.writeConnectionSecretToRef = { name: 'renamed' };
      c.metadata.annotations = { 'connect.ctp.dev/app-connection-secret': 'stolen' };
    }),
    { renamesSecretTo: 'renamed' },
  ),
  protectedRow(
    'update setting the connector labels and annotations',
    update((c) => Object.assign(c.metadata, { labels: forgedLabels, annotations: forgedAnnotations })),
  ),
  protectedRow(
    'update adding an owner',
    update((c) => Object.assign(c.metadata, { ownerReferences: [owner] })),
  ),
  protectedRow(
    'update dropping every label and annotation',
    update((c) => {
      delete c.metadata.labels;
      delete c.metadata.annotations;
    }),
  ),
  protectedRow(
    'update renaming the Secret with a forged app-connection-secret annotation',
    update((c) => {
      c.spec.writeConnectionSecretToRef = { name: 'renamed' };
      c.metadata.annotations = { 'connect.ctp.dev/app-connection-secret': 'stolen' };
    }),
    { renamesSecretTo: 'renamed' },
  ),
];

/** b's claims are still stored and untouched (compared with how they were before the row). */
async function expectBUntouched(): Promise<void> {
  expect(await storedView(nsB, 'b-claim')).toEqual(bBefore.claim);
  expect(await storedView(nsB, 'b-two')).toEqual(bBefore.two);
}
let bBefore: { claim: StoredView | undefined; two: StoredView | undefined };

const crossNamespace: HostileCase[] = [
  {
    name: 'list in a with fieldSelector metadata.namespace=b',
    send: () => get(`${collection(nsA)}?fieldSelector=metadata.namespace%3D${nsB}`),
    code: 200,
    check: (a) => expect(namesOf(a)).toEqual([]),
  },
  {
    name: 'list in a with labelSelector connect.ctp.dev/app-namespace=b',
    send: () => get(`${collection(nsA)}?labelSelector=connect.ctp.dev%2Fapp-namespace%3D${nsB}`),
    code: 200,
    check: (a) => expect(namesOf(a)).toEqual([]),
  },
  {
    name: "list across namespaces with fieldSelector metadata.namespace=b (b's only)",
    send: () => get(`${api}/kubernetesclusters?fieldSelector=metadata.namespace%3D${nsB}`),
    code: 200,
    check: (a) => expect(namesOf(a).sort()).toEqual([`${nsB}/b-claim`, `${nsB}/b-two`]),
  },
  {
    name: 'deletecollection in x with labelSelector connect.ctp.dev/app-namespace=b',
    send: () =>
      viaApp.send({
        method: 'DELETE',
        path: `${collection(nsX)}?labelSelector=connect.ctp.dev%2Fapp-namespace%3D${nsB}`,
      }),
    code: 200,
    async check() {
      await expectBUntouched();
      expect(await stored(nsX, 'x-claim')).toBeDefined(); // no claim of x carries that (connector) label
    },
  },
  {
    name: 'deletecollection in x with fieldSelector metadata.namespace=b',
    send: () =>
      viaApp.send({ method: 'DELETE', path: `${collection(nsX)}?fieldSelector=metadata.namespace%3D${nsB}` }),
    code: 200,
    async check() {
      await expectBUntouched();
      expect(await stored(nsX, 'x-claim')).toBeDefined();
    },
  },
  {
    name: 'deletecollection in x with fieldSelector metadata.name=b-claim',
    send: () =>
      viaApp.send({ method: 'DELETE', path: `${collection(nsX)}?fieldSelector=metadata.name%3Db-claim` }),
    code: 200,
    async check() {
      await expectBUntouched();
      expect(await stored(nsX, 'x-claim')).toBeDefined();
    },
  },
  {
    name: "get of b's claim by name from a",
    send: () => get(claimPath(nsA, 'b-claim')),
    code: 404,
    check: expectBUntouched,
  },
  {
    name: "merge patch of b's claim by name from a",
    send: () =>
      viaApp.send({
        method: 'PATCH',
        path: claimPath(nsA, 'b-claim'),
        headers: mergePatch,
        body: '{"spec":{"id":"stolen"}}',
      }),
    code: 404,
    check: expectBUntouched,
  },
  {
    name: "JSON patch of b's claim by name from a",
    send: () =>
      viaApp.send({
        method: 'PATCH',
        path: claimPath(nsA, 'b-claim'),
        headers: jsonPatch,
        body: '[{"op":"replace","path":"/spec/id","value":"stolen"}]',
      }),
    code: 404,
    check: expectBUntouched,
  },
  {
    name: "delete of b's claim by name from a",
    send: () => viaApp.send({ method: 'DELETE', path: claimPath(nsA, 'b-claim') }),
    code: 404,
    check: expectBUntouched,
  },
];

const limited = impersonating('limited');
const rights: HostileCase[] = [
  {
    name: 'user without rights lists claims',
    send: () => get(collection(nsA), impersonating('eve')),
    code: 403,
    byAPIServer: true,
  },
  {
    name: 'user without rights gets a claim',
    send: () => get(claimPath(nsA, 'known'), impersonating('eve')),
    code: 403,
    byAPIServer: true,
  },
  {
    name: 'user without rights creates a claim',
    send: () =>
      viaApp.send({
        method: 'POST',
        path: collection(nsA),
        headers: { ...json, ...impersonating('eve') },
        body: JSON.stringify(sample('by-eve')),
      }),
    code: 403,
    byAPIServer: true,
    check: async () => expect(await stored(nsA, 'by-eve')).toBeUndefined(),
  },
  {
    name: 'user limited by resourceNames gets that claim',
    send: () => get(claimPath(nsA, 'known'), limited),
    code: 200,
    check: (a) => expect((JSON.parse(a.text) as Claim).metadata.name).toBe('known'),
  },
  {
    name: 'user limited by resourceNames lists with fieldSelector metadata.name=NAME',
    send: () => get(`${collection(nsA)}?fieldSelector=metadata.name%3Dknown`, limited),
    code: 200,
    check: (a) => expect(namesOf(a)).toEqual([`${nsA}/known`]),
  },
  {
    name: 'user limited by resourceNames watches with fieldSelector metadata.name=NAME',
    send: () =>
      watchAnswer(
        `${collection(nsA)}?watch=true&fieldSelector=metadata.name%3Dknown`,
        limited,
        (e) => e.type === 'ADDED',
      ),
    code: 200,
    check(answer) {
      const added = eventsOf(answer).filter((e) => e.type === 'ADDED');
      expect(added.map((e) => `${e.object.metadata.namespace}/${e.object.metadata.name}`)).toEqual([
        `${nsA}/known`,
      ]);
    },
  },
  {
    name: 'user limited by resourceNames lists without a field selector',
    send: () => get(collection(nsA), limited),
    code: 403,
    byAPIServer: true,
  },
  {
    name: 'user limited by resourceNames lists with metadata.name!=NAME',
    send: () => get(`${collection(nsA)}?fieldSelector=metadata.name!%3Dknown`, limited),
    code: 403,
    byAPIServer: true,
  },
  {
    name: 'user limited by resourceNames gets another claim',
    send: () => get(claimPath(nsA, 'other-a'), limited),
    code: 403,
    byAPIServer: true,
  },
  {
    name: 'server-side apply that would create, by a user who may patch but not create',
    send: () =>
      viaApp.send({
        method: 'PATCH',
        path: `${claimPath(nsA, 'by-patcher')}?fieldManager=x`,
        headers: { ...applyPatch, ...impersonating('patcher') },
        body: JSON.stringify(sample('by-patcher')),
      }),
    code: 403,
    check: async () => expect(await stored(nsA, 'by-patcher')).toBeUndefined(),
  },
  {
    // The control for the row above: the same user's apply of an existing claim is allowed.
    name: 'server-side apply of an existing claim by that user',
    send: () =>
      viaApp.send({
        method: 'PATCH',
        path: `${claimPath(nsA, 'other-a')}?fieldManager=patcher&force=true`,
        headers: { ...applyPatch, ...impersonating('patcher') },
        body: JSON.stringify({ ...sample('other-a'), spec: { ...sample('other-a').spec, id: 'patched' } }),
      }),
    code: 200,
    check: async () => expect((await stored(nsA, 'other-a'))?.spec.id).toBe('patched'),
  },
];

const namespaceLifecycle: HostileCase[] = [
  {
    name: 'create into an app namespace that does not exist',
    send: () => create(nsMissing, sample('nowhere', nsMissing)),
    code: 404,
    async check(answer) {
      expect(messageOf(answer)).toContain(`namespaces "${nsMissing}" not found`);
      expect(await stored(nsMissing, 'nowhere')).toBeUndefined();
    },
  },
  {
    name: 'create into a terminating app namespace',
    send: () => create(nsTerminating, sample('too-late', nsTerminating)),
    code: 403,
    async check(answer) {
      expect(messageOf(answer)).toContain('because it is being terminated');
      expect(await stored(nsTerminating, 'too-late')).toBeUndefined();
    },
  },
];

const watches: HostileCase[] = [
  {
    // The control plane's own refusal passes through: the same code and message as asking it directly, before
    // streaming or as the stream's first event (ERROR).
    name: 'watch with resourceVersion=abc',
    send: () => watchAnswer(`${collection(nsA)}?watch=true&resourceVersion=abc`),
    code: [200, 400, 422, 500],
    async check(answer) {
      const stream = await controlPlane.stream({
        path: `${collection(target)}?watch=true&resourceVersion=abc`,
      });
      let own: { message: string } | undefined;
      if (stream.status === 200) await stream.next(() => true, 5_000).catch(() => undefined);
      else own = JSON.parse(await stream.ended) as { message: string };
      stream.close();
      expect(answer.status).toBe(stream.status);
      if (own) expect(messageOf(answer)).toBe(own.message);
      else expect(eventsOf(answer)[0]?.type).toBe('ERROR');
    },
  },
  {
    name: 'watch=1 (not "true") is a watch',
    send: () => watchAnswer(`${collection(nsA)}?watch=1`, {}, (e) => e.type === 'ADDED'),
    code: 200,
    check(answer) {
      expect(answer.headers['content-type']).toMatch(/json/);
      const added = eventsOf(answer).filter((e) => e.type === 'ADDED');
      expect(added.length).toBeGreaterThan(0);
      expect(added.every((e) => e.object.metadata.namespace === nsA)).toBe(true);
    },
  },
];

const straightToProxy: HostileCase[] = [
  {
    name: 'straight to the proxy without a client certificate, forged X-Remote-User/Group',
    send: () =>
      direct().send({
        path: collection(nsA),
        headers: { 'x-remote-user': 'system:admin', 'x-remote-group': 'system:masters' },
      }),
    code: 401,
  },
  {
    name: 'straight to the proxy without a client certificate, forged X-Remote-Extra',
    send: () =>
      direct().send({
        method: 'DELETE',
        path: claimPath(nsA, 'known'),
        headers: { 'x-remote-user': 'kubernetes-admin', 'x-remote-extra-scopes': 'all' },
      }),
    code: 401,
  },
  {
    name: "straight to the proxy with the admin's client certificate (not the front-proxy CA), forged headers",
    send: () => {
      const admin = endpointOf(app.kubeconfigPath);
      return direct({ cert: admin.cert, key: admin.key }).send({
        path: collection(nsA),
        headers: { 'x-remote-user': 'system:admin', 'x-remote-group': 'system:masters' },
      });
    },
    code: 401,
  },
  {
    // kube-apiserver's own request-header authenticator keeps a malformed extra key as it is; a 400 is fine too.
    name: 'straight to the proxy as the aggregator, with a malformed X-Remote-Extra key (%ZZ)',
    send: () =>
      direct(frontProxyClient()).send({
        path: claimPath(nsA, 'known'),
        headers: { 'x-remote-user': 'reader', 'x-remote-group': 'readers', 'x-remote-extra-%ZZ': 'x' },
      }),
    code: [200, 400],
  },
];

const validation: HostileCase[] = [
  {
    name: 'create with an unknown spec field and fieldValidation=Warn',
    send: () =>
      create(
        nsA,
        { ...sample('warned'), spec: { ...sample('warned').spec, bogus: 1 } },
        json,
        '?fieldValidation=Warn',
      ),
    code: 201,
    async check(answer) {
      expect(String(answer.headers.warning)).toContain('unknown field');
      expect(await stored(nsA, 'warned')).toBeDefined();
    },
  },
  {
    name: 'create with an unknown spec field and fieldValidation=Strict',
    send: () =>
      create(
        nsA,
        { ...sample('strict'), spec: { ...sample('strict').spec, bogus: 1 } },
        json,
        '?fieldValidation=Strict',
      ),
    code: 400,
    async check(answer) {
      expect(messageOf(answer)).toContain('unknown field');
      expect(await stored(nsA, 'strict')).toBeUndefined();
    },
  },
];

const catalogue = [
  ...malformedEscapes,
  ...impersonationExtras,
  ...bodies,
  ...representations,
  ...invalidObjects,
  ...protectedMetadata,
  ...crossNamespace,
  ...rights,
  ...namespaceLifecycle,
  ...watches,
  ...straightToProxy,
  ...validation,
];

function codes(code: number | number[]): number[] {
  return Array.isArray(code) ? code : [code];
}

function describeAnswer(answer: Answer): string {
  const failed = failedOf(answer);
  if (failed !== undefined) return `no answer: ${failed}`;
  if (answer === 'closed') return 'connection closed, no answer';
  const got = answer as RawAnswer;
  const body = jsonOf(got);
  if (body?.kind === 'Status')
    return `${got.status} ${String(body.reason)}: ${String(body.message).slice(0, 120)}`;
  const type = String(got.headers['content-type'] ?? '').split(';')[0];
  return `${got.status} ${type}${body ? '' : `: ${got.text.trim().slice(0, 60)}`}`;
}

async function rbac(): Promise<void> {
  const claims = { apiGroups: ['platform.example.org'], resources: ['kubernetesclusters'] };
  const role = (name: string, verbs: string[], resourceNames?: string[]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace: nsA },
    rules: [{ ...claims, verbs, ...(resourceNames ? { resourceNames } : {}) }],
  });
  const binding = (name: string, subject: { kind: 'User' | 'Group'; name: string }) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: nsA },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
  });
  const items = [
    role('known-only', ['get', 'list', 'watch'], ['known']),
    binding('known-only', { kind: 'User', name: 'limited' }),
    role('patch-only', ['get', 'patch']),
    binding('patch-only', { kind: 'User', name: 'patcher' }),
    role('readers', ['get', 'list', 'watch']),
    binding('readers', { kind: 'Group', name: 'readers' }),
    role('watchers', ['list', 'watch']),
    binding('watchers', { kind: 'Group', name: 'watchers' }),
  ];
  await kubectlOk(app, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

/** A namespace that stays Terminating: a ConfigMap in it has a finalizer nobody removes (until afterAll). */
async function terminatingNamespace(): Promise<void> {
  await kubectlOk(app, ['create', 'namespace', nsTerminating]);
  await kubectlOk(
    app,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'hold', namespace: nsTerminating, finalizers: ['example.com/hold'] },
    }),
  );
  await kubectlOk(app, ['delete', 'namespace', nsTerminating, '--wait=false']);
  await waitFor(
    async () =>
      (await kubectlOk(app, ['get', 'namespace', nsTerminating, '-o', 'jsonpath={.status.phase}'])) ===
      'Terminating'
        ? true
        : undefined,
    { timeoutMs: 30_000, what: `namespace ${nsTerminating} Terminating` },
  );
}

describe('proxy: hostile requests through the app cluster', () => {
  beforeAll(async () => {
    viaApp = rawClient(endpointOf(app.kubeconfigPath));
    controlPlane = rawClient(endpointOf(cp.kubeconfigPath));
    await prepareConnector(app, controlPlaneCredential(cp));
    for (const ns of [nsA, nsB, nsX]) await kubectl(app, ['create', 'namespace', ns]);
    await terminatingNamespace();
    const connected = await connectWithProxyProcess(app, 'hostile', {
      targetNamespace: target,
      deletionPolicy: 'Delete',
    });
    connection = connected;
    replica = connected.first;
    clusterID = connection.clusterID;
    await rbac();
    // The first create waits for kube-apiserver to route the new APIService.
    const known = claimManifest({
      name: 'known',
      namespace: nsA,
      connectionSecret: 'known-conn',
      labels: { tier: 'gold' },
      paused: true,
    });
    await waitFor(
      async () => {
        const answer = await create(nsA, known);
        if (answer.status === 201 || answer.status === 409) return true;
        throw new Error(`${answer.status} ${answer.text}`);
      },
      { timeoutMs: 60_000, what: 'the first claim through the new APIService' },
    );
    await createClaim(sample('other-a'));
    await createClaim(sample('b-claim', nsB));
    await createClaim(sample('b-two', nsB));
    await createClaim(sample('x-claim', nsX));
    knownBefore = (await storedView(nsA, 'known'))!;
    bBefore = { claim: await storedView(nsB, 'b-claim'), two: await storedView(nsB, 'b-two') };
  }, 180_000);

  afterAll(async () => {
    console.log(
      `hostile requests (${rows.length}):\n` +
        rows
          .map(
            (r, i) => `${String(i + 1).padStart(3)}. ${r.name}\n     expected ${r.expected}; got ${r.answer}`,
          )
          .join('\n'),
    );
    await kubectl(app, [
      '-n',
      nsTerminating,
      'patch',
      'configmap',
      'hold',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await connection?.stop();
    for (const ns of [nsA, nsB, nsX]) await kubectl(app, ['delete', 'namespace', ns, '--wait=false']);
    viaApp?.close();
    controlPlane?.close();
  });

  // A row that ended the proxy, or left it unable to write, fails; the next row gets a new replica, so every row is
  // judged on its own.
  let harmed = false;
  beforeEach(async () => {
    if (!replica || (!harmed && replica.alive())) return;
    await replica.process.stop();
    replica = await connection.startReplica();
    await waitUntilServing();
    harmed = false;
  });

  it('tries at least 40 hostile requests', () => {
    expect(catalogue.length).toBeGreaterThanOrEqual(40);
  });

  for (const row of catalogue) {
    it(row.name, async () => {
      const expected = row.code === undefined ? 'no answer needed' : codes(row.code).join(' or ');
      let answer: Answer;
      try {
        answer = await row.send();
      } catch (err) {
        answer = { failed: (err as { message?: string } | undefined)?.message ?? String(err) };
      }
      const result = {
        name: row.name,
        expected: `${expected}${row.byAPIServer ? ' (kube-apiserver)' : ''}`,
        answer: describeAnswer(answer),
      };
      rows.push(result);
      // (a) The proxy survived, still reads and still writes (the old one latched into "control plane unreachable").
      const read = await getThroughApp(nsA, 'known');
      const write = await create(nsA, sample('probe'), json, '?dryRun=All');
      if (!replica.alive()) result.answer += `; PROXY EXITED (${replica.exitCode()})`;
      else if (read.status !== 200 || write.status !== 201)
        result.answer += `; then get ${read.status}, dry-run create ${write.status}`;
      harmed = !replica.alive() || read.status !== 200 || write.status !== 201;
      expect({ proxyExited: replica.exitCode() }).toEqual({ proxyExited: undefined });
      expect({ get: read.status, dryRunCreate: write.status }).toEqual({ get: 200, dryRunCreate: 201 });
      // (b) The answer.
      if (row.code !== undefined) {
        const failed = failedOf(answer);
        if (failed !== undefined) throw new Error(`no answer: ${failed}`);
        expect(answer).not.toBe('closed');
        const got = answer as RawAnswer;
        if (!codes(row.code).includes(got.status))
          throw new Error(`expected ${expected}, got ${got.status}: ${got.text.slice(0, 400)}`);
        if (row.status ?? got.status >= 400) expectStatus(got);
        await row.check?.(got);
      }
      // (c) The claim every row could reach is as it was.
      expect(await storedView(nsA, 'known')).toEqual(knownBefore);
    });
  }

  describe('watches are capped per user and in total', () => {
    const open: { close(): void }[] = [];
    const watchAs = (user: string) =>
      viaApp.stream({ path: `${collection(nsA)}?watch=true`, headers: impersonating(user, ['watchers']) });
    const openWatches = async () => {
      const metrics = await (await fetch(`http://${replica.metricsAddress}/metrics`)).text();
      return metrics
        .split('\n')
        .filter((l) => l.startsWith('ctp_connector_proxy_watches{'))
        .reduce((sum, l) => sum + Number(l.split(/\s+/)[1]), 0);
    };
    const record = (name: string, expected: string, answer: string) => rows.push({ name, expected, answer });

    beforeAll(async () => {
      await replica.process.stop();
      replica = await connection.startReplica({ args: ['--max-watches-per-user=3', '--max-watches=5'] });
      await waitUntilServing();
    }, 120_000);

    afterAll(() => {
      for (const w of open) w.close();
    });

    it('refuses a 4th watch of one user and a 6th in total with 429, and frees a slot when one closes', async () => {
      for (let i = 1; i <= 3; i++) {
        const w = await watchAs('watcher-1');
        open.push(w);
        expect(w.status).toBe(200);
      }
      const fourth = await watchAs('watcher-1');
      const fourthBody = await fourth.ended;
      record(
        '4th concurrent watch of one user (cap 3)',
        '429',
        describeAnswer({ status: fourth.status, headers: fourth.headers, text: fourthBody }),
      );
      expect(fourth.status).toBe(429);
      expectStatus({ status: fourth.status, headers: fourth.headers, text: fourthBody });

      // Others hold watches too (the app cluster's garbage collector watches every resource): fill up to 5.
      const held = await openWatches();
      expect(held).toBeGreaterThanOrEqual(3);
      expect(held).toBeLessThanOrEqual(5);
      const second: { close(): void }[] = [];
      for (let i = held; i < 5; i++) {
        const w = await watchAs('watcher-2');
        second.push(w);
        open.push(w);
        expect(w.status).toBe(200);
      }
      const sixth = await watchAs('watcher-2');
      const sixthBody = await sixth.ended;
      record(
        '6th concurrent watch in total (cap 5), another user',
        '429',
        describeAnswer({ status: sixth.status, headers: sixth.headers, text: sixthBody }),
      );
      expect(sixth.status).toBe(429);
      expectStatus({ status: sixth.status, headers: sixth.headers, text: sixthBody });

      (second[0] ?? open[0]!).close();
      const freed = await waitFor(
        async () => {
          const w = await watchAs('watcher-2');
          if (w.status === 200) return w;
          w.close();
          return undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: 'a watch slot freed by closing one' },
      );
      open.push(freed);
      record('a watch after one of the capped ones closed', '200', String(freed.status));
      expect(replica.alive()).toBe(true);
      await expectServing();
      expect(await storedView(nsA, 'known')).toEqual(knownBefore);
    });
  });
});
