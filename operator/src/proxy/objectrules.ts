// The rules every claim body must follow before the proxy translates it — the ones kube-apiserver's decoder and
// ObjectMeta validation would apply, checked here because the control plane only ever sees the translated object
// (its name is the mapped one, so it cannot tell that the app-side name is 300 characters long). Pure.
import { randomBytes } from 'node:crypto';
import { StatusError } from './respond.ts';

export interface ClaimBody {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } & Record<string, unknown>;
  spec?: Record<string, unknown> & {
    writeConnectionSecretToRef?: { name?: string } & Record<string, unknown>;
  };
}

export interface ObjectScope {
  apiVersion: string;
  kind: string;
  /** The app namespace of the request path. */
  namespace: string;
  /** The name in the path (update, patch); undefined for a create. */
  name: string | undefined;
}

const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const maxNameLength = 253;

const badRequest = (message: string) => new StatusError(400, 'BadRequest', message);

function invalid(kind: string, name: string | undefined, field: string, message: string): StatusError {
  return new StatusError(422, 'Invalid', `${kind} "${name ?? ''}" is invalid: ${field}: ${message}`, {
    ...(name ? { name } : {}),
    kind,
    causes: [{ reason: 'FieldValueInvalid', field, message }],
  });
}

/** Why `name` is not a DNS-1123 subdomain, as ObjectMeta validation words it; undefined when it is one. */
export function nameProblem(name: string): string | undefined {
  if (name.length > maxNameLength) return `must be no more than ${maxNameLength} characters`;
  if (!subdomain.test(name))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/** A full object (create, update, apply): checks its shape, kind, name and namespace; returns it typed. */
export function checkObject(body: unknown, scope: ObjectScope): ClaimBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest(`the request body must be a ${scope.kind} object`);
  const obj = body as Record<string, unknown>;
  for (const field of ['apiVersion', 'kind'] as const)
    if (obj[field] !== undefined && typeof obj[field] !== 'string')
      throw badRequest(`${field} must be a string`);
  if (obj.apiVersion !== undefined && obj.apiVersion !== scope.apiVersion)
    throw badRequest(
      `the API version in the data (${obj.apiVersion as string}) does not match the expected API version (${scope.apiVersion})`,
    );
  if (obj.kind !== undefined && obj.kind !== scope.kind)
    throw badRequest(
      `the kind in the data (${obj.kind as string}) does not match the expected kind (${scope.kind})`,
    );
  checkMetadata(obj.metadata, scope, false);
  const claim = obj as ClaimBody;
  const name = claim.metadata?.name;
  if (name !== undefined) {
    const problem = nameProblem(name);
    if (problem) throw invalid(scope.kind, name, 'metadata.name', `Invalid value: "${name}": ${problem}`);
  }
  checkSecretRef(obj.spec, { ...scope, name: scope.name ?? name }, false);
  return claim;
}

/** A merge patch: the same shapes, where null (delete the field) is allowed for members. */
export function checkMergePatch(body: unknown, scope: ObjectScope): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('a merge patch must be a JSON object');
  const patch = body as Record<string, unknown>;
  if (patch.metadata !== null) checkMetadata(patch.metadata, scope, true);
  if (patch.spec !== null) checkSecretRef(patch.spec, scope, true);
}

function checkMetadata(metadata: unknown, scope: ObjectScope, nullable: boolean): void {
  if (metadata === undefined) return;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
    throw badRequest('metadata must be an object');
  const meta = metadata as Record<string, unknown>;
  for (const field of ['name', 'generateName', 'namespace'])
    if (meta[field] !== undefined && !(nullable && meta[field] === null) && typeof meta[field] !== 'string')
      throw badRequest(`metadata.${field} must be a string`);
  for (const field of ['labels', 'annotations']) {
    const map = meta[field];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map))
      throw badRequest(`metadata.${field} must be a map of strings`);
    for (const [key, value] of Object.entries(map))
      if (typeof value !== 'string' && !(nullable && value === null))
        throw badRequest(`metadata.${field}["${key}"] must be a string`);
  }
  if (typeof meta.namespace === 'string' && meta.namespace !== '' && meta.namespace !== scope.namespace)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  if (scope.name !== undefined && typeof meta.name === 'string' && meta.name !== scope.name)
    throw badRequest(
      `the name of the object (${meta.name}) does not match the name on the URL (${scope.name})`,
    );
}

function checkSecretRef(spec: unknown, scope: ObjectScope, nullable: boolean): void {
  if (spec === undefined) return;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    throw badRequest('spec must be an object');
  const ref = (spec as Record<string, unknown>).writeConnectionSecretToRef;
  if (ref === undefined || (nullable && ref === null)) return;
  if (ref === null || typeof ref !== 'object' || Array.isArray(ref))
    throw badRequest('spec.writeConnectionSecretToRef must be an object');
  const name = (ref as Record<string, unknown>).name;
  if (name === undefined || (nullable && name === null)) return;
  if (typeof name !== 'string') throw badRequest('spec.writeConnectionSecretToRef.name must be a string');
  const problem = nameProblem(name);
  if (problem)
    throw invalid(
      scope.kind,
      scope.name,
      'spec.writeConnectionSecretToRef.name',
      `Invalid value: "${name}": ${problem}`,
    );
}

/**
 * kube-apiserver's generated names: the prefix, cut to 58 characters, and five random characters of
 * [bcdfghjklmnpqrstvwxz2456789].
 */
export function generateName(prefix: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  const base = prefix.slice(0, 58);
  return base + [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}
