import { describe, expect, it } from '@jest/globals';
import { compileJSONPath } from './jsonpath.ts';

describe('printer-column JSONPath', () => {
  const claim = {
    metadata: { name: 'a', labels: { 'example.org/tier': 'gold' } },
    spec: {
      writeConnectionSecretToRef: { name: 'a-kubeconfig' },
      nodes: [{ size: 'small' }, { size: 'large' }],
    },
    status: {
      conditions: [
        { type: 'Synced', status: 'True' },
        { type: 'Ready', status: 'False' },
      ],
    },
  };

  it('reads fields, indexes, filters and quoted keys; no match is undefined', () => {
    expect(compileJSONPath('.spec.writeConnectionSecretToRef.name')(claim)).toBe('a-kubeconfig');
    expect(compileJSONPath('.status.conditions[?(@.type=="Ready")].status')(claim)).toBe('False');
    expect(compileJSONPath(".status.conditions[?(@.type=='Synced')].status")(claim)).toBe('True');
    expect(compileJSONPath('.spec.nodes[1].size')(claim)).toBe('large');
    expect(compileJSONPath('.spec.nodes[*].size')(claim)).toBe('small');
    expect(compileJSONPath("{.metadata.labels['example.org/tier']}")(claim)).toBe('gold');
    expect(compileJSONPath('.status.conditions[?(@.type=="Healthy")].status')(claim)).toBeUndefined();
    expect(compileJSONPath('.spec.missing.deeper')(claim)).toBeUndefined();
  });

  it('rejects expressions outside the subset instead of answering wrongly', () => {
    expect(() => compileJSONPath('.items[?(@.n > 1)]')).toThrow('unsupported JSONPath');
  });
});
