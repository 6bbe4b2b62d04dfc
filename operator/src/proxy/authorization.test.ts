import { describe, expect, it } from '@jest/globals';
import type { KubeClient } from '../kube/client.ts';
import { forbiddenMessage, subjectAccessReviewer } from './authorization.ts';
import { parseRequest, type ResourceRequest } from './requestinfo.ts';

/** A client that answers SubjectAccessReviews from `allow` and records what it was asked. */
function reviews(allow: (attributes: Record<string, unknown>) => boolean) {
  const asked: Record<string, unknown>[] = [];
  const client = {
    request: (_method: string, _path: string, options: { body: { spec: Record<string, unknown> } }) => {
      asked.push(options.body.spec);
      const attributes = options.body.spec.resourceAttributes as Record<string, unknown>;
      return Promise.resolve({ status: { allowed: allow(attributes) } });
    },
  } as unknown as KubeClient;
  return { client, asked };
}

const resource = (method: string, target: string): ResourceRequest => {
  const parsed = parseRequest(method, target);
  if (!parsed.ok || !parsed.info.resourceRequest) throw new Error(target);
  return parsed.info.resource;
};
const alice = { name: 'alice', groups: ['dev', 'system:authenticated'], extra: { scopes: ['a'] } };
const base = '/apis/platform.example.org/v1alpha1/namespaces/shop/kubernetesclusters';

describe('authorization with kube-apiserver attributes', () => {
  it('asks for the user, groups, extra and the resource attributes of the request', async () => {
    const { client, asked } = reviews(() => true);
    const decision = await subjectAccessReviewer(client)(alice, resource('PUT', `${base}/db/status`));
    expect(decision.allowed).toBe(true);
    expect(asked).toEqual([
      {
        user: 'alice',
        groups: ['dev', 'system:authenticated'],
        extra: { scopes: ['a'] },
        resourceAttributes: {
          namespace: 'shop',
          verb: 'update',
          group: 'platform.example.org',
          version: 'v1alpha1',
          resource: 'kubernetesclusters',
          subresource: 'status',
          name: 'db',
        },
      },
    ]);
  });

  it('authorizes a list or watch with a metadata.name field selector for that name (resourceNames)', async () => {
    const { client } = reviews((a) => a.name === 'db');
    const authorize = subjectAccessReviewer(client);
    const selector = `fieldSelector=${encodeURIComponent('metadata.name=db')}`;
    expect((await authorize(alice, resource('GET', `${base}?watch=1&${selector}`))).allowed).toBe(true);
    expect((await authorize(alice, resource('GET', `${base}?${selector}`))).allowed).toBe(true);
    expect((await authorize(alice, resource('GET', base))).allowed).toBe(false);
  });

  it('allows system:masters without asking, and caches decisions briefly', async () => {
    const { client, asked } = reviews(() => false);
    let now = 0;
    const authorize = subjectAccessReviewer(client, 10_000, () => now);
    expect((await authorize({ ...alice, groups: ['system:masters'] }, resource('GET', base))).allowed).toBe(
      true,
    );
    expect(asked).toHaveLength(0);
    await authorize(alice, resource('GET', base));
    await authorize(alice, resource('GET', base));
    expect(asked).toHaveLength(1);
    now = 10_001;
    await authorize(alice, resource('GET', base));
    expect(asked).toHaveLength(2);
  });

  it('words a refusal as kube-apiserver does', () => {
    expect(forbiddenMessage(alice, resource('GET', `${base}/db`))).toBe(
      'kubernetesclusters.platform.example.org "db" is forbidden: User "alice" cannot get resource "kubernetesclusters" in API group "platform.example.org" in the namespace "shop"',
    );
  });
});
