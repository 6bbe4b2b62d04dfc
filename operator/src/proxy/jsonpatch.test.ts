import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { applyPatch, parseOperations, parsePointer, type Operation } from './jsonpatch.ts';
import { StatusError } from './respond.ts';

const doc = { metadata: { name: 'db', labels: { a: '1', 'x/y': '2' } }, spec: { list: [1, 2, 3] } };

describe('JSON patch (RFC 6902)', () => {
  it.each<[Operation[], unknown]>([
    [
      [{ op: 'add', path: '/metadata/labels/b', value: '3' }],
      { ...doc, metadata: { ...doc.metadata, labels: { a: '1', 'x/y': '2', b: '3' } } },
    ],
    [
      [{ op: 'remove', path: '/metadata/labels/x~1y' }],
      { ...doc, metadata: { ...doc.metadata, labels: { a: '1' } } },
    ],
    [[{ op: 'replace', path: '/spec/list/1', value: 9 }], { ...doc, spec: { list: [1, 9, 3] } }],
    [[{ op: 'add', path: '/spec/list/-', value: 4 }], { ...doc, spec: { list: [1, 2, 3, 4] } }],
    [[{ op: 'add', path: '/spec/list/0', value: 0 }], { ...doc, spec: { list: [0, 1, 2, 3] } }],
    [[{ op: 'move', from: '/spec/list', path: '/spec/items' }], { ...doc, spec: { items: [1, 2, 3] } }],
    [
      [{ op: 'copy', from: '/metadata/name', path: '/spec/name' }],
      { ...doc, spec: { list: [1, 2, 3], name: 'db' } },
    ],
    [[{ op: 'test', path: '/metadata/name', value: 'db' }], doc],
    [[{ op: 'replace', path: '', value: { kind: 'X' } }], { kind: 'X' }],
  ])('applies %j', (ops, expected) => {
    expect(applyPatch(doc, ops)).toEqual(expected);
  });

  it('never modifies its input', () => {
    const copy = structuredClone(doc);
    applyPatch(doc, [{ op: 'remove', path: '/metadata' }]);
    expect(doc).toEqual(copy);
  });

  it.each<Operation[]>([
    [{ op: 'test', path: '/metadata/name', value: 'other' }],
    [{ op: 'remove', path: '/metadata/missing' }],
    [{ op: 'replace', path: '/nope/deeper', value: 1 }],
    [{ op: 'add', path: '/spec/list/7', value: 1 }],
    [{ op: 'add', path: '/spec/list/01', value: 1 }],
    [{ op: 'move', from: '/spec', path: '/spec/inner' }],
    [{ op: 'add', path: 'no-slash', value: 1 }],
    [{ op: 'add', path: '/a~2b', value: 1 }],
  ])('refuses %j with 422', (...ops) => {
    expect(() => applyPatch(doc, ops)).toThrow(expect.objectContaining({ code: 422, reason: 'Invalid' }));
  });

  it('adds "__proto__" as a member, not as a prototype', () => {
    const out = applyPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]) as Record<
      string,
      unknown
    >;
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect((out as { polluted?: boolean }).polluted).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true}}');
  });

  it('checks the shape of the operations with 400', () => {
    for (const body of [
      {},
      [1],
      [{ op: 'frob', path: '/a' }],
      [{ op: 'add' }],
      [{ op: 'add', path: '/a' }],
      [{ op: 'move', path: '/a' }],
    ])
      expect(() => parseOperations(body)).toThrow(expect.objectContaining({ code: 400 }));
    expect(parseOperations([{ op: 'add', path: '/a', value: null }])).toHaveLength(1);
  });

  it('escapes pointers as RFC 6901 says', () => {
    expect(parsePointer('')).toEqual([]);
    expect(parsePointer('/a~1b/c~0d/')).toEqual(['a/b', 'c~d', '']);
  });

  it('add then remove at a fresh member gives the document back', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.string(),
        fc.jsonValue(),
        (obj, key, value) => {
          fc.pre(!Object.hasOwn(obj, key));
          const pointer = `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
          const added = applyPatch(obj, [{ op: 'add', path: pointer, value }]);
          expect((added as Record<string, unknown>)[key]).toEqual(value);
          expect(applyPatch(added, [{ op: 'remove', path: pointer }])).toEqual(obj);
        },
      ),
    );
  });

  it('applies or refuses with a Status, for any operations on any document', () => {
    const op = fc.record({
      op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test'),
      path: fc.oneof(fc.constantFrom('', '/', '/a', '/a/0', '/a/-', '/b/c', '/a/b~1c'), fc.string()),
      from: fc.constantFrom('', '/a', '/b', '/a/0'),
      value: fc.jsonValue(),
    });
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(op, { maxLength: 6 }), (document, ops) => {
        try {
          applyPatch(document, parseOperations(ops));
        } catch (err) {
          expect(err).toBeInstanceOf(StatusError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
