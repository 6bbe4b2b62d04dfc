import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { json, listChunks } from './respond.ts';

const envelope = fc.record(
  {
    kind: fc.string(),
    apiVersion: fc.string(),
    metadata: fc.record({ resourceVersion: fc.string(), continue: fc.string() }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

describe('streamed lists', () => {
  it('chunks join to the JSON of the whole list, whatever the items and the chunk size', () => {
    fc.assert(
      fc.property(
        envelope,
        fc.array(fc.oneof(fc.jsonValue(), fc.constant(undefined)), { maxLength: 40 }),
        fc.integer({ min: 1, max: 400 }),
        (head, items, size) => {
          const list = { ...head, items };
          const chunks = [...listChunks(list, size)];
          expect(JSON.parse(chunks.join(''))).toEqual(JSON.parse(JSON.stringify(list)));
        },
      ),
    );
  });

  it('holds about one chunk at a time: no chunk grows beyond its size by more than one item', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string(), fc.string()), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 300 }),
        (items, size) => {
          const longest = Math.max(...items.map((i) => JSON.stringify(i).length)) + 1;
          const chunks = [...listChunks({ kind: 'List', items }, size)];
          for (const chunk of chunks.slice(0, -1)) {
            expect(chunk.length).toBeGreaterThanOrEqual(size);
            expect(chunk.length).toBeLessThan(size + longest + '{"kind":"List","items":['.length);
          }
        },
      ),
    );
  });

  describe('over HTTP', () => {
    let server: Server | undefined;
    afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    const serve = async (body: unknown): Promise<{ port: number; errors: unknown[] }> => {
      const errors: unknown[] = [];
      server = createServer((_req, res) => {
        res.on('error', (err) => errors.push(err));
        json(res, 200, body);
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      return { port: (server.address() as AddressInfo).port, errors };
    };
    const items = Array.from({ length: 5_000 }, (_, i) => ({
      metadata: { name: `claim-${i}`, namespace: 'shop' },
      spec: { note: 'x'.repeat(200) },
    }));
    const list = {
      kind: 'KubernetesClusterList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '7' },
      items,
    };

    it('reaches a client that reads slowly, whole and in order', async () => {
      const { port } = await serve(list);
      const received = await new Promise<string>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          // Read a chunk, then pause: the server must wait for the client, not buffer the whole list.
          res.on('data', (chunk: string) => {
            text += chunk;
            res.pause();
            setTimeout(() => res.resume(), 1);
          });
          res.on('end', () => resolve(text));
          res.on('error', reject);
        }).on('error', reject);
      });
      expect(JSON.parse(received)).toEqual(list);
    });

    it('stops writing, without an error, when the client goes away in the middle', async () => {
      const { port, errors } = await serve(list);
      const closed = new Promise<number>((resolve, reject) => {
        const req = get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > 100_000) req.destroy();
          });
          res.on('close', () => resolve(bytes));
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      });
      expect(await closed).toBeLessThan(JSON.stringify(list).length);
      // The server answers the next request as before.
      const again = await new Promise<number>((resolve, reject) =>
        get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject),
      );
      expect(again).toBe(200);
      expect(errors.filter((e) => (e as NodeJS.ErrnoException).code !== 'ECONNRESET')).toEqual([]);
    });
  });
});
