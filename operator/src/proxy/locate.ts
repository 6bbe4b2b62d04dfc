// Where the claim a request names is stored, decided by the control plane rather than assumed: under its v2 name,
// or — for a claim stored before the v2 scheme — under its v1 name, and only if the stored object's origin labels
// say it is this cluster's claim of this app namespace and name. A write then carries the found object's uid as a
// precondition, so it can only reach that object even if the name changed hands in between. The claim cache may
// answer first, as a hint: a stale hint fails the uid precondition, and the write is retried on a live answer.
import { controlPlaneName, currentScheme, type NameScheme } from '../claims/identity.ts';
import type { ServedResource } from '../catalog/catalog.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';
import type { CachedClaim } from './claimcache.ts';
import type { ResourceRequest } from './requestinfo.ts';
import { StatusError } from './respond.ts';
import { originOf, type Obj, type Scope } from './translate.ts';

export type Location =
  /** A claim of this origin is stored under `name`. */
  | { kind: 'found'; name: string; scheme: NameScheme; uid: string | undefined; object: Obj; live: boolean }
  /** Nothing of this origin is stored; a new claim gets `name` (v2). */
  | { kind: 'free'; name: string }
  /** The v2 name holds an object of another origin (another cluster, or a hash collision). */
  | { kind: 'taken'; name: string };

export interface Origin {
  namespace: string;
  name: string;
}

/** The names a claim may be stored under, newest scheme first. */
export function candidates(origin: Origin, scope: Scope): { name: string; scheme: NameScheme }[] {
  const v2 = controlPlaneName(origin.name, origin.namespace, scope.clusterID, currentScheme);
  const v1 = controlPlaneName(origin.name, origin.namespace, scope.clusterID, 'v1');
  return v1 === v2
    ? [{ name: v2, scheme: currentScheme }]
    : [
        { name: v2, scheme: currentScheme },
        { name: v1, scheme: 'v1' },
      ];
}

function judge(
  object: Obj | undefined,
  candidate: { name: string; scheme: NameScheme },
  origin: Origin,
  scope: Scope,
  live: boolean,
): Location | undefined {
  if (!object) return undefined;
  const stored = originOf(object, scope);
  if (stored?.namespace === origin.namespace && stored.name === origin.name)
    return {
      kind: 'found',
      name: candidate.name,
      scheme: candidate.scheme,
      uid: object.metadata?.uid,
      object,
      live,
    };
  return candidate.scheme === currentScheme ? { kind: 'taken', name: candidate.name } : undefined;
}

/**
 * What the claim cache knows: found (a hint to be checked by the uid precondition), or undefined when it cannot
 * tell — it holds only objects labelled with this cluster, so it never knows that a name is free.
 */
export function locateInCache(
  stored: (name: string) => CachedClaim | undefined,
  origin: Origin,
  scope: Scope,
): Location | undefined {
  for (const candidate of candidates(origin, scope)) {
    const location = judge(stored(candidate.name), candidate, origin, scope, false);
    if (location?.kind === 'found') return location;
  }
  return undefined;
}

/** What the control plane says; `get` answers undefined for 404. */
export async function locateLive(
  get: (name: string) => Promise<Obj | undefined>,
  origin: Origin,
  scope: Scope,
): Promise<Location> {
  const all = candidates(origin, scope);
  for (const candidate of all) {
    const location = judge(await get(candidate.name), candidate, origin, scope, true);
    if (location) return location;
  }
  return { kind: 'free', name: all[0]!.name };
}

/** Whether the claim a request names is stored (admission asks, for an apply by a user who may not create). */
export async function claimExists(
  client: KubeClient | undefined,
  scope: Scope,
  request: ResourceRequest,
  resource: ServedResource,
): Promise<boolean> {
  if (!client)
    throw new StatusError(503, 'ServiceUnavailable', 'the control-plane credential is not loaded yet');
  if (!request.name || !request.namespace) return false;
  const collection = `/apis/${request.group}/${request.version}/namespaces/${scope.targetNamespace}/${resource.plural}`;
  const get = async (name: string) => {
    try {
      return await client.request<Obj>('GET', `${collection}/${encodeURIComponent(name)}`, {
        timeoutMs: 10_000,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new StatusError(
        503,
        'ServiceUnavailable',
        `the control plane could not say whether the claim exists: ${(err as Error).message}`,
      );
    }
  };
  const location = await locateLive(get, { namespace: request.namespace, name: request.name }, scope);
  return location.kind === 'found';
}
