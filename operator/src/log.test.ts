import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from './log.ts';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('redacts tokens, Secret data and kubeconfigs wherever they appear', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info' }, stream);
    log.info(
      {
        token: 'tok-1',
        secret: { data: { token: 'dG9r' }, stringData: { value: 'kubeconfig-text' } },
        request: { headers: { authorization: 'Bearer tok-2' } },
        credential: { kubeconfig: 'apiVersion: v1', token: 'tok-3' },
        name: 'visible-name',
      },
      'credential read',
    );
    const line = lines.join('');
    for (const secret of ['tok-1', 'dG9r', 'kubeconfig-text', 'tok-2', 'apiVersion: v1', 'tok-3']) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('visible-name');
    expect(JSON.parse(line)).toMatchObject({ level: 'info', msg: 'credential read', token: '[REDACTED]' });
  });
});
