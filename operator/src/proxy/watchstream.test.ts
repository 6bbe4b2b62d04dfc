import { describe, expect, it } from '@jest/globals';
import { createServer, request, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { relayWatch } from './watchstream.ts';

describe('watch relay', () => {
  it('stops reading from the control plane while the client does not read', async () => {
    const upstream = new PassThrough();
    let produced = 0;
    const event = `${JSON.stringify({ type: 'ADDED', object: { kind: 'X', data: 'x'.repeat(10_000) } })}\n`;
    const server = createServer((_req, res: ServerResponse) => {
      void relayWatch({
        res,
        body: upstream,
        contentType: 'application/json',
        translate: (e) => e,
        onEvent: () => produced++,
        signal: new AbortController().signal,
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const req = request({ port, host: '127.0.0.1', path: '/' });
    req.end();
    const [res] = (await once(req, 'response')) as [
      NodeJS.ReadableStream & { pause(): void; resume(): void },
    ];
    res.pause(); // a client that does not read
    // Write far more than socket buffers hold; the relay must stop consuming the upstream stream.
    for (let i = 0; i < 2_000; i++) upstream.write(event);
    await new Promise((r) => setTimeout(r, 300));
    const whilePaused = produced;
    expect(whilePaused).toBeLessThan(2_000);
    expect(upstream.readableLength).toBeGreaterThan(0);
    let received = 0;
    res.on('data', (chunk: Buffer) => (received += chunk.length));
    res.resume();
    upstream.end();
    await once(res, 'end');
    expect(produced).toBe(2_000);
    expect(received).toBe(2_000 * event.length);
    server.close();
  });

  it('ends with an ERROR event when the control plane sends something that is not an event', async () => {
    const server = createServer((_req, res) => {
      void relayWatch({
        res,
        body: [Buffer.from('{"type":"ADDED","object":{"kind":"X"}}\nnot json\n')],
        contentType: 'application/json',
        translate: (e) => e,
        onEvent: () => undefined,
        signal: new AbortController().signal,
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const text = await new Promise<string>((resolve) => {
      request({ port, host: '127.0.0.1', path: '/' }, (res) => {
        let all = '';
        res.on('data', (c: Buffer) => (all += c.toString()));
        res.on('end', () => resolve(all));
      }).end();
    });
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: { code?: number } });
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'ERROR']);
    expect(events[1]!.object).toMatchObject({ kind: 'Status', code: 500 });
    server.close();
  });
});
