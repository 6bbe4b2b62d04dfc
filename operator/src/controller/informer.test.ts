import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { objectStore, parseEvent } from './informer.ts';

interface Obj {
  metadata: { namespace?: string; name: string; resourceVersion: string };
}

const obj = fc.record({
  metadata: fc.record({
    namespace: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    name: fc.constantFrom('x', 'y', 'z'),
    resourceVersion: fc.constantFrom('1', '2', '3'),
  }),
});

const step = fc.oneof(
  obj.map((o) => ({ op: 'put' as const, o })),
  obj.map((o) => ({ op: 'remove' as const, o })),
  fc.array(obj, { maxLength: 4 }).map((items) => ({ op: 'relist' as const, items })),
);

describe('informer', () => {
  it('keeps objects by namespace and name, and names each change exactly once', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const store = objectStore<Obj>();
        const model = new Map<string, Obj>();
        const key = (o: Obj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        for (const s of steps) {
          if (s.op === 'put') {
            const before = model.get(key(s.o));
            const want = !before
              ? 'add'
              : before.metadata.resourceVersion === s.o.metadata.resourceVersion
                ? undefined
                : 'update';
            expect(store.put(s.o)).toBe(want);
            if (want) model.set(key(s.o), s.o);
          } else if (s.op === 'remove') {
            expect(store.remove(s.o)).toBe(model.delete(key(s.o)));
          } else {
            const present = new Set(s.items.map(key));
            const gone = [...model.entries()].filter(([k]) => !present.has(k));
            expect(store.absentFrom(s.items).map(key).sort()).toEqual(gone.map(([k]) => k).sort());
            for (const [k] of gone) model.delete(k);
          }
          expect(store.list().map(key).sort()).toEqual([...model.keys()].sort());
          // Kept until the next change, so reads of an unchanged cache copy nothing.
          expect(store.list()).toBe(store.list());
          for (const ns of ['a', 'b'])
            expect(store.list(ns).map(key).sort()).toEqual(
              [...model.keys()].filter((k) => k.startsWith(`${ns}/`)).sort(),
            );
          for (const [k, o] of model)
            expect(store.get(o.metadata.name, o.metadata.namespace)).toBe(model.get(k));
        }
      }),
    );
  });

  it('reads watch events and ignores any other line without throwing', () => {
    expect(parseEvent('{"type":"ADDED","object":{"kind":"X"}}')).toEqual({
      type: 'ADDED',
      object: { kind: 'X' },
    });
    for (const line of [
      '',
      'null',
      '{"type":"ADDED"}',
      '{"type":"NOPE","object":{}}',
      '{"type":"ERROR","object":3}',
    ])
      expect(parseEvent(line)).toBeUndefined();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.anything().map((v) => JSON.stringify(v) ?? ''),
        ),
        (line) => {
          const event = parseEvent(line);
          if (event) expect(typeof event.object).toBe('object');
        },
      ),
    );
  });
});
