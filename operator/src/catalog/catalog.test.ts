import { describe, expect, it } from '@jest/globals';
import { decodeCatalog, encodeCatalog, catalogKey, type Catalog } from './catalog.ts';

describe('catalog encoding', () => {
  it('round-trips and compresses large schemas well below the ConfigMap limit', () => {
    const bigSchema = {
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: 2000 }, (_, i) => [
          `field${i}`,
          { type: 'string', description: 'a field of the claim' },
        ]),
      ),
    };
    const catalog: Catalog = {
      connection: 'c',
      clusterID: 'id',
      targetNamespace: 'team-1',
      groupVersions: [
        {
          group: 'g.example.org',
          version: 'v1',
          resources: [
            {
              kind: 'Thing',
              listKind: 'ThingList',
              plural: 'things',
              singular: 'thing',
              shortNames: [],
              categories: ['claim'],
              xrd: 'xthings.g.example.org',
              origin: 'Claim',
              hasStatus: true,
              schema: bigSchema,
              printerColumns: [],
            },
          ],
        },
      ],
    };
    const encoded = encodeCatalog(catalog);
    expect(decodeCatalog({ [catalogKey]: encoded })).toEqual(catalog);
    expect(encoded.length).toBeLessThan(JSON.stringify(catalog).length / 5);
    expect(() => decodeCatalog({})).toThrow(`no binaryData.${catalogKey}`);
  });
});
