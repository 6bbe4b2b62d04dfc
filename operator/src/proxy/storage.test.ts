import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Verb } from './requestinfo.ts';
import { chooseBackend } from './storage.ts';

const verbs: Verb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

describe('the storage rule', () => {
  it('sends everything to the control plane while it answers, but empty-namespace collections', () => {
    for (const verb of verbs) {
      const collection = verb === 'list' || verb === 'deletecollection';
      expect(
        chooseBackend({ verb, namespace: 'shop', controlPlaneAvailable: true, namespaceEmptyInCache: true }),
      ).toBe(collection ? 'cache' : 'control-plane');
      expect(
        chooseBackend({ verb, namespace: 'shop', controlPlaneAvailable: true, namespaceEmptyInCache: false }),
      ).toBe('control-plane');
      // Across namespaces the cache would have to know every namespace: the control plane answers.
      expect(
        chooseBackend({
          verb,
          namespace: undefined,
          controlPlaneAvailable: true,
          namespaceEmptyInCache: true,
        }),
      ).toBe('control-plane');
    }
  });

  it('never sends a request to the control plane while it does not answer', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...verbs),
        fc.option(fc.string(), { nil: undefined }),
        fc.boolean(),
        (verb, namespace, empty) => {
          expect(
            chooseBackend({ verb, namespace, controlPlaneAvailable: false, namespaceEmptyInCache: empty }),
          ).toBe('unavailable');
        },
      ),
    );
  });
});
