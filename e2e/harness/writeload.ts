// A write load of uniquely named claims through the app cluster's kube-apiserver, with exact accounting: every
// attempt's answer and timing, which creates were acknowledged, and what the control plane stores in the end. The
// writers behave like controllers: they retry what the API says is retriable and take AlreadyExists on a retry as
// success (their earlier attempt was stored, its answer lost).
import { setTimeout as sleep } from 'node:timers/promises';
import { claimManifest, type Claim } from './claims.ts';
import { kubectlOk, type KubectlTarget } from './kubectl.ts';
import type { RawAnswer, RawClient } from './raw-https.ts';

export const collection = (ns: string) =>
  `/apis/platform.example.org/v1alpha1/namespaces/${ns}/kubernetesclusters`;

/** An answer, or why there was none (node:https errors are not `instanceof Error` inside jest's module realm). */
export type Outcome = RawAnswer | { failed: string };

export async function send(
  client: RawClient,
  method: string,
  path: string,
  body?: unknown,
  // Longer than kube-apiserver's 60 s by default: its own answer, not ours, ends a hung request.
  timeoutMs = 70_000,
): Promise<Outcome> {
  try {
    return await client.send({
      method,
      path,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs,
    });
  } catch (err) {
    return { failed: (err as { message?: string } | undefined)?.message ?? String(err) };
  }
}

export const codeOf = (answer: Outcome) => ('failed' in answer ? 0 : answer.status);

export interface Attempt {
  name: string;
  started: number;
  finished: number;
  /** HTTP status, or 0 when no answer came. */
  code: number;
}

export interface LoadResult {
  acknowledged: Set<string>;
  /** Attempted, never acknowledged (gave up): may or may not be stored. */
  unacknowledged: Set<string>;
  attempts: Attempt[];
}

export interface WriteLoad {
  /** Every attempt so far. */
  readonly attempts: readonly Attempt[];
  stop(): Promise<LoadResult>;
}

const retriable = new Set([0, 429, 500, 502, 503, 504]);

export function startWriteLoad(options: {
  client: RawClient;
  namespace: string;
  /** Claim names are <prefix><writer>-<n>. */
  prefix: string;
  writers?: number;
}): WriteLoad {
  const { client, namespace, prefix } = options;
  const acknowledged = new Set<string>();
  const unacknowledged = new Set<string>();
  const attempts: Attempt[] = [];
  let stopping = false;
  const writer = async (id: number) => {
    for (let n = 0; !stopping; n++) {
      const name = `${prefix}${id}-${n}`;
      for (let attempt = 0; ; attempt++) {
        const started = Date.now();
        // A controller gives up on a request after a while and retries: 15 s here (an answer lost that way makes
        // the retry's AlreadyExists the acknowledgement).
        const code = codeOf(
          await send(client, 'POST', collection(namespace), claimManifest({ name, namespace }), 15_000),
        );
        attempts.push({ name, started, finished: Date.now(), code });
        if (code === 201 || (code === 409 && attempt > 0)) {
          acknowledged.add(name);
          break;
        }
        if (!retriable.has(code) || attempt >= 600 || (stopping && attempt > 0)) {
          unacknowledged.add(name);
          break;
        }
        await sleep(200);
      }
    }
  };
  const running = Promise.all(Array.from({ length: options.writers ?? 4 }, (_, i) => writer(i)));
  return {
    attempts,
    async stop() {
      stopping = true;
      await running;
      return { acknowledged, unacknowledged, attempts };
    },
  };
}

/** App names of the claims the control plane stores for app namespace `ns`, one entry per stored object. */
export async function storedNames(cp: KubectlTarget, target: string, ns: string): Promise<string[]> {
  const list = JSON.parse(await kubectlOk(cp, ['-n', target, 'get', 'kubernetesclusters', '-o', 'json'])) as {
    items: Claim[];
  };
  return list.items
    .filter((c) => c.metadata.labels?.['connect.ctp.dev/app-namespace'] === ns)
    .map((c) => c.metadata.annotations?.['connect.ctp.dev/app-name'] ?? `?${c.metadata.name}`);
}

export interface Accounting {
  acknowledged: number;
  stored: number;
  /** Acknowledged, not stored. */
  lost: string[];
  /** Stored more than once. */
  duplicated: string[];
  /** Stored, never attempted. */
  strays: string[];
}

/** What `result` acknowledged against what is stored (only names starting with `prefix` count). Pure. */
export function account(result: LoadResult, stored: readonly string[], prefix: string): Accounting {
  const mine = stored.filter((n) => n.startsWith(prefix));
  const seen = new Set<string>();
  const duplicated = new Set<string>();
  for (const n of mine) (seen.has(n) ? duplicated : seen).add(n);
  const attempted = new Set([...result.acknowledged, ...result.unacknowledged]);
  return {
    acknowledged: result.acknowledged.size,
    stored: mine.length,
    lost: [...result.acknowledged].filter((n) => !seen.has(n)).sort(),
    duplicated: [...duplicated].sort(),
    strays: [...seen].filter((n) => !attempted.has(n)).sort(),
  };
}
