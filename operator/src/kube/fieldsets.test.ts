import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fieldSetSharing, withoutManagedFields } from './fieldsets.ts';

const fieldSet: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  tree: fc.dictionary(
    fc.constantFrom('.', 'f:metadata', 'f:labels', 'f:spec', 'f:a', 'f:b', 'k:{"name":"x"}'),
    fc.oneof({ depthSize: 'small' }, fc.constant({}), tie('tree')),
    { maxKeys: 4 },
  ),
})).tree;

const object = fc.record({
  metadata: fc.record({
    name: fc.string(),
    managedFields: fc.array(
      fc.record({ manager: fc.constantFrom('kubectl', 'crossplane'), fieldsV1: fieldSet }),
      { maxLength: 3 },
    ),
  }),
  spec: fc.anything(),
});

describe('managedFields dropped', () => {
  it('removes them and nothing else, from anything', () => {
    fc.assert(
      fc.property(object, (o) => {
        const { managedFields: _, ...rest } = o.metadata;
        expect(withoutManagedFields(structuredClone(o))).toEqual({ ...o, metadata: rest });
      }),
    );
    for (const odd of [undefined, null, 3, 'x', {}, { metadata: null }, { metadata: 'm' }])
      expect(withoutManagedFields(odd)).toBe(odd);
  });
});

describe('field set sharing', () => {
  it('changes no object as JSON sees it, and gives equal field sets one frozen instance', () => {
    fc.assert(
      fc.property(fc.array(object, { maxLength: 8 }), (objects) => {
        const sharing = fieldSetSharing();
        const before = objects.map((o) => JSON.stringify(o));
        const shared = objects.map((o) => sharing.share(structuredClone(o)));
        expect(shared.map((o) => JSON.stringify(o))).toEqual(before);
        const entries = shared.flatMap((o) => o.metadata.managedFields);
        for (const a of entries) {
          expect(Object.isFrozen(a.fieldsV1)).toBe(true);
          for (const b of entries)
            if (JSON.stringify(a.fieldsV1) === JSON.stringify(b.fieldsV1))
              expect(a.fieldsV1).toBe(b.fieldsV1);
        }
        expect(sharing.size()).toBe(new Set(entries.map((e) => JSON.stringify(e.fieldsV1))).size);
      }),
    );
  });

  it('freezes all the way down: a change of one object through a shared set throws instead of reaching all', () => {
    const sharing = fieldSetSharing();
    const fields = () => ({ 'f:metadata': { 'f:labels': { 'f:app': {} } } });
    const a = sharing.share({ metadata: { managedFields: [{ fieldsV1: fields() }] } });
    const b = sharing.share({ metadata: { managedFields: [{ fieldsV1: fields() }] } });
    expect(a.metadata.managedFields[0]!.fieldsV1).toBe(b.metadata.managedFields[0]!.fieldsV1);
    const labels = a.metadata.managedFields[0]!.fieldsV1['f:metadata']['f:labels'] as Record<string, unknown>;
    expect(() => (labels['f:team'] = {})).toThrow(TypeError);
    expect(b.metadata.managedFields[0]!.fieldsV1).toEqual(fields());
  });

  it('passes anything that is not a list of entries through, and holds a bounded number of sets', () => {
    const sharing = fieldSetSharing(2);
    for (const odd of [
      undefined,
      null,
      3,
      'x',
      {},
      { metadata: null },
      { metadata: { managedFields: 'no' } },
    ])
      expect(sharing.share(odd)).toBe(odd);
    const odd = sharing.share({
      metadata: { managedFields: [null, 7, { fieldsV1: 'text' }, { manager: 'm' }] },
    });
    expect(odd).toEqual({ metadata: { managedFields: [null, 7, { fieldsV1: 'text' }, { manager: 'm' }] } });
    for (let i = 0; i < 10; i++)
      sharing.share({ metadata: { managedFields: [{ fieldsV1: { [`f:${i}`]: {} } }] } });
    expect(sharing.size()).toBeLessThanOrEqual(2);
  });
});
