import { describe, expect, it } from '@jest/globals';
import { downstreamHeaders, forwarded, upstreamHeaders } from './passthrough.ts';

describe('pass-through proxy', () => {
  it('forwards only its group: resources, discovery of the group and its OpenAPI', () => {
    const g = 'bench.example.org';
    expect(forwarded('/apis/bench.example.org/v1alpha1/namespaces/a/kubernetesclusters?limit=5', g)).toBe(
      true,
    );
    expect(forwarded('/apis/bench.example.org', g)).toBe(true);
    expect(forwarded('/openapi/v3/apis/bench.example.org/v1alpha1?hash=1', g)).toBe(true);
    expect(forwarded('/apis/bench.example.org.evil/v1', g)).toBe(false);
    expect(forwarded('/apis', g)).toBe(false);
    expect(forwarded('/openapi/v2', g)).toBe(false);
    expect(forwarded('/api/v1/secrets', g)).toBe(false);
  });

  it("drops hop-by-hop headers and the aggregator's identity on the way up", () => {
    expect(
      upstreamHeaders({
        host: 'localhost:1',
        connection: 'keep-alive',
        'x-remote-user': 'alice',
        'x-remote-group': 'system:masters',
        authorization: 'Bearer x',
        accept: 'application/json',
        'content-type': 'application/apply-patch+yaml',
        'audit-id': 'a1',
      }),
    ).toEqual({
      accept: 'application/json',
      'content-type': 'application/apply-patch+yaml',
      'audit-id': 'a1',
    });
  });

  it('passes response headers through except hop-by-hop ones', () => {
    expect(
      downstreamHeaders({
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
        'audit-id': 'a1',
        absent: undefined,
      }),
    ).toEqual({ 'content-type': 'application/json', 'audit-id': 'a1' });
  });
});
