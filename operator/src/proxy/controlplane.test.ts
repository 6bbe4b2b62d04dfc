import { describe, expect, it } from '@jest/globals';
import { KubeApiError } from '../kube/client.ts';
import { controlPlaneName } from '../claims/identity.ts';
import { translateFailure } from './controlplane.ts';
import type { ResourceRequest } from './requestinfo.ts';

const scope = { clusterID: 'c1', targetNamespace: 'team-1' };
const origin = { namespace: 'shop', name: 'db' };
const mapped = controlPlaneName('db', 'shop', 'c1');
const legacy = controlPlaneName('db', 'shop', 'c1', 'v1');

const request: ResourceRequest = {
  group: 'platform.example.org',
  version: 'v1alpha1',
  resource: 'kubernetesclusters',
  namespace: 'shop',
  name: 'db',
  namedInPath: true,
  subresource: undefined,
  verb: 'patch',
};
const failure = (code: number, reason: string, message: string, details?: object, headers = {}) =>
  new KubeApiError(
    'PATCH',
    '/x',
    code,
    { kind: 'Status', code, reason, message, ...(details ? { details } : {}) },
    '',
    headers,
  );

describe('control-plane failures, as the client sees them', () => {
  it("turns the proxy's own credential failures into 503 without naming its identity", () => {
    const rejected = translateFailure(failure(401, 'Unauthorized', 'Unauthorized'), scope, request, origin);
    expect(rejected).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    const forbidden = translateFailure(
      failure(
        403,
        'Forbidden',
        `kubernetesclusters.platform.example.org "${mapped}" is forbidden: User "system:serviceaccount:team-1:ctp-connector-x" cannot patch resource "kubernetesclusters" in API group "platform.example.org" in the namespace "team-1"`,
      ),
      scope,
      request,
      origin,
    );
    expect(forbidden).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    for (const err of [rejected, forbidden]) {
      expect(err.message).not.toMatch(/team-1|serviceaccount/);
      expect(err.message).not.toContain(mapped);
    }
  });

  it('passes other failures on with the app-side name and namespace', () => {
    const conflict = translateFailure(
      failure(
        409,
        'Conflict',
        `Operation cannot be fulfilled on kubernetesclusters.platform.example.org "${mapped}": the object has been modified`,
        { name: mapped, kind: 'kubernetesclusters' },
      ),
      scope,
      request,
      origin,
    );
    expect(conflict).toMatchObject({
      code: 409,
      reason: 'Conflict',
      details: { name: 'db', kind: 'kubernetesclusters' },
    });
    expect(conflict.message).toBe(
      'Operation cannot be fulfilled on kubernetesclusters.platform.example.org "db": the object has been modified',
    );
    const terminating = translateFailure(
      failure(
        403,
        'Forbidden',
        'unable to create new content in namespace "team-1" because it is being terminated',
      ),
      scope,
      request,
      undefined,
    );
    expect(terminating).toMatchObject({
      code: 403,
      message: 'unable to create new content in namespace "shop" because it is being terminated',
    });
    const throttled = translateFailure(
      failure(429, 'TooManyRequests', 'slow down', {}, { 'retry-after': '3' }),
      scope,
      request,
      undefined,
    );
    expect(throttled.details).toMatchObject({ retryAfterSeconds: 3 });
    // A claim stored under its v1 name is named back too.
    const legacyConflict = translateFailure(
      failure(409, 'Conflict', `"${legacy}" changed`),
      scope,
      request,
      origin,
    );
    expect(legacyConflict.message).toBe('"db" changed');
  });
});
