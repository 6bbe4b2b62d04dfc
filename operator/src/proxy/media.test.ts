import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { bodyType, negotiate } from './media.ts';
import { StatusError } from './respond.ts';

describe('media types', () => {
  it('asks the control plane for JSON only, keeping the representation parameters', () => {
    expect(negotiate(undefined, false)).toEqual({
      media: 'application/json',
      upstreamAccept: 'application/json',
    });
    expect(negotiate('application/json;as=Table;v=v1;g=meta.k8s.io,application/json', false)).toEqual({
      media: 'application/json',
      upstreamAccept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    expect(negotiate('application/vnd.kubernetes.protobuf, application/json', false).upstreamAccept).toBe(
      'application/json',
    );
    expect(negotiate('*/*', false)).toEqual({
      media: 'application/json',
      upstreamAccept: 'application/json',
    });
  });

  it('renders YAML for clients that ask for it, but never streams it', () => {
    expect(negotiate('application/yaml', false)).toEqual({
      media: 'application/yaml',
      upstreamAccept: 'application/json',
    });
    expect(() => negotiate('application/yaml', true)).toThrow(expect.objectContaining({ code: 406 }));
  });

  it.each(['application/vnd.kubernetes.protobuf', 'application/cbor', 'text/html', 'image/png'])(
    'answers 406 to a client that accepts only %s',
    (accept) => {
      expect(() => negotiate(accept, false)).toThrow(
        expect.objectContaining({ code: 406, reason: 'NotAcceptable' }),
      );
    },
  );

  it('accepts the bodies kube-apiserver accepts for each verb, else 415', () => {
    expect(bodyType('create', undefined)).toBe('application/json');
    expect(bodyType('create', 'application/yaml; charset=utf-8')).toBe('application/yaml');
    expect(bodyType('patch', 'application/apply-patch+yaml')).toBe('application/apply-patch+yaml');
    expect(bodyType('patch', 'application/json-patch+json')).toBe('application/json-patch+json');
    for (const [verb, type] of [
      ['create', 'text/plain'],
      ['patch', 'application/strategic-merge-patch+json'],
      ['patch', 'application/json'],
      ['update', 'application/merge-patch+json'],
    ] as const)
      expect(() => bodyType(verb, type)).toThrow(
        expect.objectContaining({ code: 415, reason: 'UnsupportedMediaType' }),
      );
  });

  it('either negotiates or refuses with a Status, for any Accept header', () => {
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (accept, streaming) => {
        try {
          const n = negotiate(accept, streaming);
          expect(n.upstreamAccept.split(',').every((e) => e.startsWith('application/json'))).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(StatusError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
