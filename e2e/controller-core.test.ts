// The operator's controller core against a real kube-apiserver: the pooled client, and an informer that
// survives the apiserver going away (client-node's own informer would stop for good).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { supervisedInformer, type InformerEvent } from '../operator/src/controller/informer.ts';
import { fieldSetSharing } from '../operator/src/kube/fieldsets.ts';
import { isNotFound, type KubeClient, kubeconfigClient } from '../operator/src/kube/client.ts';
import { createLogger } from '../operator/src/log.ts';
import { startEnvironment, type Environment } from './harness/environment.ts';
import { waitFor } from './harness/wait.ts';

const log = createLogger({ level: 'silent' });
const ns = 'core-test';

describe('controller core on a real apiserver', () => {
  let env: Environment;
  let client: KubeClient;

  beforeAll(async () => {
    env = await startEnvironment({ names: ['core'], handleSignals: false });
    client = kubeconfigClient(env.cluster('core').kubeconfigPath);
    await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  });

  afterAll(async () => {
    await client?.close();
    await env?.stop();
  });

  it('reports API errors with the server Status and the request', async () => {
    const err = await client
      .request('GET', `/api/v1/namespaces/${ns}/configmaps/missing`)
      .catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect(String(err)).toBe(
      `KubeApiError: GET /api/v1/namespaces/${ns}/configmaps/missing: 404 NotFound: configmaps "missing" not found`,
    );
  });

  it('keeps delivering events after the apiserver restarts', async () => {
    const events: [InformerEvent, string][] = [];
    const errors: unknown[] = [];
    const informer = supervisedInformer<V1ConfigMap>({
      client,
      path: `/api/v1/namespaces/${ns}/configmaps`,
      labelSelector: 'test=informer',
      log,
      onEvent: (event, obj) => events.push([event, obj.metadata?.name ?? '']),
      onError: (err) => errors.push(err),
      minBackoffMs: 200,
      maxBackoffMs: 1_000,
    });
    const create = (name: string, labels: Record<string, string>) =>
      client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
        body: { metadata: { name, labels }, data: { a: '1' } },
      });
    try {
      await create('before-start', { test: 'informer' });
      await create('other-label', { test: 'other' });
      await informer.start();
      expect(informer.synced()).toBe(true);
      expect(informer.list().map((o) => o.metadata?.name)).toEqual(['before-start']);
      // Held without managedFields unless a transform says otherwise (the server always sends them).
      expect(informer.list()[0]?.metadata?.managedFields).toBeUndefined();

      await create('while-running', { test: 'informer' });
      await waitFor(() => (informer.get('while-running', ns) ? true : undefined), {
        timeoutMs: 10_000,
        what: 'add event',
      });

      const core = env.cluster('core');
      await core.stopAPIServer();
      await waitFor(() => (errors.length > 0 ? true : undefined), {
        timeoutMs: 60_000,
        what: 'the watch to fail',
      });
      await core.startAPIServer();

      await create('after-restart', { test: 'informer' });
      await client.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/before-start`);
      await waitFor(
        () => (informer.get('after-restart', ns) && !informer.get('before-start', ns) ? true : undefined),
        { timeoutMs: 60_000, what: 'events after the restart' },
      );
      expect(events).toEqual(
        expect.arrayContaining([
          ['add', 'before-start'],
          ['add', 'while-running'],
          ['add', 'after-restart'],
          ['delete', 'before-start'],
        ]),
      );
      expect(events.map(([, name]) => name)).not.toContain('other-label');
    } finally {
      await informer.stop();
    }
  });

  it('lists in pages (3 for 7 objects) and watches from the list, each object through the transform', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `paged-${i}`);
    for (const name of names)
      await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
        body: { metadata: { name, labels: { test: 'paged' } } },
      });
    const events: string[] = [];
    const fieldSets = fieldSetSharing();
    const informer = supervisedInformer<V1ConfigMap>({
      client,
      path: `/api/v1/namespaces/${ns}/configmaps`,
      labelSelector: 'test=paged',
      log,
      pageSize: 3,
      transform: (obj: V1ConfigMap) => fieldSets.share(obj),
      onEvent: (event, obj) => events.push(`${event} ${obj.metadata?.name ?? ''}`),
    });
    const fieldsOf = (name: string): unknown =>
      informer.get(name, ns)?.metadata?.managedFields?.[0]?.fieldsV1 as unknown;
    try {
      await informer.start();
      expect(events).toEqual(names.map((n) => `add ${n}`));
      await client.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/paged-3`);
      await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
        body: { metadata: { name: 'paged-7', labels: { test: 'paged' } } },
      });
      await waitFor(() => (events.includes('add paged-7') ? true : undefined), {
        timeoutMs: 10_000,
        what: 'the add event',
      });
      expect(events).toContain('delete paged-3');
      expect(informer.list().map((o) => o.metadata?.name)).toEqual([
        ...names.filter((n) => n !== 'paged-3'),
        'paged-7',
      ]);
      // The same manager wrote every one the same way: listed and watched, they hold one frozen field set.
      expect(fieldsOf('paged-0')).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:test': {} } } });
      expect(Object.isFrozen(fieldsOf('paged-0'))).toBe(true);
      for (const name of ['paged-1', 'paged-6', 'paged-7']) expect(fieldsOf(name)).toBe(fieldsOf('paged-0'));
      expect(fieldSets.size()).toBe(1);
    } finally {
      await informer.stop();
    }
  });
});
