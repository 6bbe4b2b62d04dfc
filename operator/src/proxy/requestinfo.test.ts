import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fieldSelectorName, parseRequest, type ResourceRequest } from './requestinfo.ts';

const base = '/apis/platform.example.org/v1alpha1';

function resource(method: string, target: string): ResourceRequest {
  const parsed = parseRequest(method, target);
  if (!parsed.ok || !parsed.info.resourceRequest) throw new Error(`not a resource request: ${target}`);
  return parsed.info.resource;
}

describe('request info', () => {
  it.each([
    ['GET', `${base}/namespaces/shop/kubernetesclusters`, 'list', 'shop', undefined],
    ['GET', `${base}/kubernetesclusters`, 'list', undefined, undefined],
    ['GET', `${base}/namespaces/shop/kubernetesclusters/db`, 'get', 'shop', 'db'],
    ['GET', `${base}/namespaces/shop/kubernetesclusters?watch=true`, 'watch', 'shop', undefined],
    ['GET', `${base}/namespaces/shop/kubernetesclusters?watch=1`, 'watch', 'shop', undefined],
    ['GET', `${base}/namespaces/shop/kubernetesclusters?watch=false`, 'list', 'shop', undefined],
    ['GET', `${base}/watch/namespaces/shop/kubernetesclusters`, 'watch', 'shop', undefined],
    ['GET', `${base}/namespaces/shop/kubernetesclusters/db?watch=true`, 'watch', 'shop', 'db'],
    ['POST', `${base}/namespaces/shop/kubernetesclusters`, 'create', 'shop', undefined],
    ['PUT', `${base}/namespaces/shop/kubernetesclusters/db`, 'update', 'shop', 'db'],
    ['PATCH', `${base}/namespaces/shop/kubernetesclusters/db`, 'patch', 'shop', 'db'],
    ['DELETE', `${base}/namespaces/shop/kubernetesclusters/db`, 'delete', 'shop', 'db'],
    ['DELETE', `${base}/namespaces/shop/kubernetesclusters`, 'deletecollection', 'shop', undefined],
  ])('%s %s is %s', (method, target, verb, namespace, name) => {
    expect(resource(method, target)).toMatchObject({
      group: 'platform.example.org',
      version: 'v1alpha1',
      resource: 'kubernetesclusters',
      verb,
      namespace,
      name,
    });
  });

  it('reads subresources and decodes escaped segments', () => {
    expect(resource('PUT', `${base}/namespaces/shop/kubernetesclusters/db/status`)).toMatchObject({
      name: 'db',
      subresource: 'status',
    });
    expect(resource('GET', `${base}/namespaces/a%2Db/kubernetesclusters/x%2Ey`)).toMatchObject({
      namespace: 'a-b',
      name: 'x.y',
    });
  });

  it('authorizes list and watch with the name a metadata.name field selector requires', () => {
    const watch = resource(
      'GET',
      `${base}/namespaces/shop/kubernetesclusters?watch=1&fieldSelector=${encodeURIComponent('metadata.name=db')}`,
    );
    expect(watch).toMatchObject({ verb: 'watch', name: 'db', namedInPath: false });
    expect(fieldSelectorName('metadata.namespace=a,metadata.name==db')).toBe('db');
    expect(fieldSelectorName('metadata.name!=db')).toBeUndefined();
    expect(fieldSelectorName(null)).toBeUndefined();
  });

  it('leaves discovery, the namespaces resource and other paths to the documents stage', () => {
    for (const target of [
      '/apis',
      `${base}`,
      '/apis/platform.example.org',
      `${base}/namespaces/shop`,
      '/openapi/v3',
    ])
      expect(parseRequest('GET', target)).toMatchObject({ ok: true, info: { resourceRequest: false } });
  });

  it.each([
    [`${base}/namespaces/default/kubernetesclusters/%FF`, 400],
    [`${base}/namespaces/%E0%A4%A/kubernetesclusters`, 400],
    [`${base}/namespaces/default/kubernetesclusters/%`, 400],
    [`${base}/namespaces/default/kubernetesclusters?labelSelector=%ZZ`, 400],
    [`${base}/namespaces/default/kubernetesclusters?fieldSelector=a%`, 400],
    [`${base}/namespaces/default/kubernetesclusters?%C0=x`, 400],
    ['kubernetesclusters', 400],
  ])('refuses %s with %i', (target, code) => {
    const parsed = parseRequest('GET', target);
    expect(parsed).toMatchObject({ ok: false, code, reason: 'BadRequest' });
    if (!parsed.ok) expect(parsed.message).toMatch(/malformed escape|absolute/);
  });

  it.each([
    ['POST', `${base}/namespaces/shop/kubernetesclusters/db`],
    ['PUT', `${base}/namespaces/shop/kubernetesclusters`],
    ['PATCH', `${base}/namespaces/shop/kubernetesclusters`],
    ['OPTIONS', `${base}/namespaces/shop/kubernetesclusters`],
  ])('answers %s %s with 405', (method, target) => {
    expect(parseRequest(method, target)).toMatchObject({ ok: false, code: 405, reason: 'MethodNotAllowed' });
  });

  it('never throws, whatever the method and target', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: 'binary' }), (method, target) => {
        const parsed = parseRequest(method, target);
        expect(typeof parsed.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on targets made of path-like pieces and escapes', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        'apis',
        'namespaces',
        'watch',
        'status',
        '',
        '%',
        '%FF',
        '%2F',
        '%E0%A4',
        '?',
        '&',
        '=',
        'watch=1',
      ),
      fc.string(),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 10 }),
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        (pieces, method) => {
          const parsed = parseRequest(method, `/${pieces.join('/')}`);
          if (parsed.ok) expect(parsed.info.path.startsWith('/')).toBe(true);
          else expect([400, 405]).toContain(parsed.code);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('gives back exactly the namespace, name and query values that were escaped into the target', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.string(),
        (namespace, name, selector) => {
          const target = `${base}/namespaces/${encodeURIComponent(namespace)}/kubernetesclusters/${encodeURIComponent(name)}?labelSelector=${encodeURIComponent(selector)}`;
          const parsed = parseRequest('GET', target);
          // Lone surrogates cannot be encoded as UTF-8: encodeURIComponent throws for them, so they never get here.
          expect(parsed.ok).toBe(true);
          if (!parsed.ok || !parsed.info.resourceRequest) return;
          expect(parsed.info.resource).toMatchObject({ namespace, name, verb: 'get' });
          expect(parsed.info.query.get('labelSelector')).toBe(selector);
        },
      ),
    );
  });
});
