// The admission stage over a real HTTP server, between the request-info stage and a stand-in for storage: what it
// refuses before anything could reach the control plane, and what it hands on.
import { describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { Catalog } from '../catalog/catalog.ts';
import { claimCatalog } from '../catalog/testdata.ts';
import { createLogger } from '../log.ts';
import { admission, servedResource, type AdmissionDeps } from './admission.ts';
import { compose } from './chain.ts';
import { newContext } from './context.ts';
import type { NamespacePhase } from './namespaces.ts';
import { recovery } from './recovery.ts';
import { parseRequest, requestInfo, type ResourceRequest } from './requestinfo.ts';
import { json } from './respond.ts';

const catalog: Catalog = claimCatalog();
const base = '/apis/platform.example.org/v1alpha1';
const claims = (ns: string) => `${base}/namespaces/${ns}/kubernetesclusters`;
const phases: Record<string, NamespacePhase> = { shop: 'Active', gone: 'Terminating' };

async function serve(overrides: Partial<AdmissionDeps> = {}) {
  const deps: AdmissionDeps = {
    catalog: () => catalog,
    namespacePhase: (name) => Promise.resolve(phases[name] ?? 'Missing'),
    authorize: () => Promise.resolve({ allowed: true, reason: '' }),
    exists: () => Promise.resolve(false),
    ...overrides,
  };
  const handle = compose([
    recovery(),
    requestInfo(),
    (ctx, next) => {
      ctx.user = { name: 'alice', groups: ['system:authenticated'], extra: {} };
      return next();
    },
    admission(deps),
    (ctx) => {
      json(ctx.res, 200, {
        admitted: { ...ctx.admitted, resource: ctx.admitted?.resource.plural },
        media: ctx.media,
      });
      return Promise.resolve();
    },
  ]);
  const server = createServer(
    (req, res) => void handle(newContext(req, res, createLogger({ level: 'silent' }))),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    new Promise<{ code: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method, path, headers }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({ code: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => server.close() };
}

const claim = (name: string, ns = 'shop') =>
  JSON.stringify({
    apiVersion: 'platform.example.org/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name, namespace: ns },
  });

describe('admission', () => {
  it('serves only the catalog resources, the status subresource, and namespaced writes', () => {
    const at = (method: string, target: string) => {
      const parsed = parseRequest(method, target);
      if (!parsed.ok || !parsed.info.resourceRequest) throw new Error(target);
      return parsed.info.resource;
    };
    expect(servedResource(catalog, at('GET', `${claims('shop')}/db/status`)).kind).toBe('KubernetesCluster');
    expect(servedResource(catalog, at('GET', `${base}/kubernetesclusters`)).kind).toBe('KubernetesCluster');
    for (const request of [
      at('GET', `${base}/namespaces/shop/others`),
      at('GET', `${claims('shop')}/db/scale`),
      at('POST', `${base}/kubernetesclusters`),
    ] as ResourceRequest[])
      expect(() => servedResource(catalog, request)).toThrow(expect.objectContaining({ code: 404 }));
    expect(() => servedResource(undefined, at('GET', base + '/kubernetesclusters'))).toThrow(
      expect.objectContaining({ code: 503 }),
    );
  });

  it('hands on the decoded body, the name (generated from generateName) and a JSON-only Accept', async () => {
    const server = await serve();
    const created = await server.send('POST', claims('shop'), claim('db'), {
      'content-type': 'application/json',
      accept: 'application/yaml',
    });
    expect(created).toMatchObject({
      code: 200,
      body: { media: 'application/yaml', admitted: { name: 'db', upstreamAccept: 'application/json' } },
    });
    const generated = await server.send(
      'POST',
      claims('shop'),
      JSON.stringify({ metadata: { generateName: 'db-' } }),
      { 'content-type': 'application/json' },
    );
    expect((generated.body.admitted as { name: string }).name).toMatch(
      /^db-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
    );
    server.close();
  });

  it('refuses creates where the namespace is missing or terminating, as NamespaceLifecycle does', async () => {
    const server = await serve();
    expect(await server.send('POST', claims('nowhere'), claim('db', 'nowhere'))).toMatchObject({
      code: 404,
      body: { reason: 'NotFound', message: 'namespaces "nowhere" not found' },
    });
    const terminating = await server.send('POST', claims('gone'), claim('db', 'gone'));
    expect(terminating).toMatchObject({ code: 403, body: { reason: 'Forbidden' } });
    expect(terminating.body.message).toContain(
      'unable to create new content in namespace gone because it is being terminated',
    );
    // Updates in a terminating namespace are the namespace controller's business, not refused.
    expect((await server.send('PUT', `${claims('gone')}/db`, claim('db', 'gone'))).code).toBe(200);
    server.close();
  });

  it('refuses an apply that would create by a user who may not create', async () => {
    const apply = { 'content-type': 'application/apply-patch+yaml' };
    const mayNotCreate: Partial<AdmissionDeps> = {
      authorize: (_user, request) => Promise.resolve({ allowed: request.verb !== 'create', reason: '' }),
    };
    const absent = await serve(mayNotCreate);
    const refused = await absent.send('PATCH', `${claims('shop')}/db`, claim('db'), apply);
    expect(refused).toMatchObject({ code: 403, body: { reason: 'Forbidden' } });
    expect(refused.body.message).toContain('cannot create resource "kubernetesclusters"');
    absent.close();
    const present = await serve({ ...mayNotCreate, exists: () => Promise.resolve(true) });
    expect((await present.send('PATCH', `${claims('shop')}/db`, claim('db'), apply)).code).toBe(200);
    present.close();
  });

  it('refuses bodies and media types it cannot take before reading further', async () => {
    const server = await serve();
    expect((await server.send('POST', claims('shop'), 'x', { 'content-type': 'text/plain' })).code).toBe(415);
    expect(
      (
        await server.send('GET', `${claims('shop')}/db`, undefined, {
          accept: 'application/vnd.kubernetes.protobuf',
        })
      ).code,
    ).toBe(406);
    expect(
      (
        await server.send('PATCH', `${claims('shop')}/db`, '{"a":', {
          'content-type': 'application/merge-patch+json',
        })
      ).code,
    ).toBe(400);
    expect(
      (
        await server.send('PATCH', `${claims('shop')}/db`, '{}', {
          'content-type': 'application/json-patch+json',
        })
      ).code,
    ).toBe(400);
    const big = 'x'.repeat(3 * 1024 * 1024 + 1);
    expect(
      await server.send('POST', claims('shop'), big, { 'content-type': 'application/json' }),
    ).toMatchObject({
      code: 413,
      body: { reason: 'RequestEntityTooLarge' },
    });
    server.close();
  });
});
