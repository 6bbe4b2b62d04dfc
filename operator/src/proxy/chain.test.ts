// The chain and its outermost guarantee, over a real HTTP server: stages run in order, a refusal becomes its
// Status, a bug becomes a 500 Status, and a failure after the answer started ends the connection instead of hanging.
import { describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import { createLogger } from '../log.ts';
import { compose, type Stage } from './chain.ts';
import { newContext } from './context.ts';
import { recovery } from './recovery.ts';
import { requestInfo } from './requestinfo.ts';
import { json, StatusError } from './respond.ts';

const log = createLogger({ level: 'silent' });

async function serve(stages: Stage[]) {
  const handle = compose(stages);
  const server = createServer((req, res) => void handle(newContext(req, res, log)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const get = (path: string) =>
    new Promise<{ code: number; body: string } | { error: string }>((resolve) => {
      const req = request({ port, host: '127.0.0.1', path }, (res: IncomingMessage) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        res.on('error', (err) => resolve({ error: err.message }));
      });
      req.on('error', (err) => resolve({ error: err.message }));
      req.end();
    });
  return { get, close: () => server.close() };
}

describe('the request chain', () => {
  it('runs the stages in order, each around the next', async () => {
    const order: string[] = [];
    const stage =
      (name: string): Stage =>
      async (_ctx, next) => {
        order.push(`${name}>`);
        await next();
        order.push(`<${name}`);
      };
    const last: Stage = (ctx) => {
      order.push('answer');
      json(ctx.res, 200, {});
      return Promise.resolve();
    };
    const server = await serve([stage('a'), stage('b'), last]);
    await server.get('/');
    expect(order).toEqual(['a>', 'b>', 'answer', '<b', '<a']);
    server.close();
  });

  it('answers a refusal with its Status and a bug with a 500 Status', async () => {
    const server = await serve([
      recovery(),
      requestInfo(),
      (ctx) => {
        if (ctx.info!.path === '/refuse') throw new StatusError(409, 'Conflict', 'taken');
        if (ctx.info!.path === '/async') return Promise.reject(new TypeError('x is undefined'));
        throw new Error('bug');
      },
    ]);
    expect(await server.get('/refuse')).toEqual({
      code: 409,
      body: JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'taken',
        reason: 'Conflict',
        code: 409,
      }),
    });
    for (const path of ['/bug', '/async']) {
      const answer = await server.get(path);
      expect(answer).toMatchObject({ code: 500 });
      expect(JSON.parse((answer as { body: string }).body)).toMatchObject({
        kind: 'Status',
        reason: 'InternalError',
        code: 500,
      });
    }
    const malformed = await server.get('/apis/g/v/namespaces/a/things/%FF');
    expect(malformed).toMatchObject({ code: 400 });
    expect(JSON.parse((malformed as { body: string }).body)).toMatchObject({
      reason: 'BadRequest',
      message: expect.stringContaining('%FF') as unknown as string,
    });
    server.close();
  });

  it('ends the connection when a stage fails after the answer started, rather than leaving it hanging', async () => {
    const server = await serve([
      recovery(),
      (ctx) => {
        ctx.res.writeHead(200, { 'content-type': 'application/json' });
        ctx.res.write('{"kind":');
        throw new Error('failed half-way');
      },
    ]);
    const answer = await server.get('/');
    expect('error' in answer || (answer as { body: string }).body === '{"kind":').toBe(true);
    server.close();
  });
});
