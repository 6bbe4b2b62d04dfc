import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { controlPlaneConnectionCRD, controlPlaneConnectionCRDYaml, crdFile } from './crd.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Every schema node, depth first, with its path. */
function* nodes(schema: Record<string, unknown>, path = ''): Generator<[string, Record<string, unknown>]> {
  yield [path, schema];
  for (const [k, v] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) {
    yield* nodes(v, `${path}.${k}`);
  }
  if (schema.items) yield* nodes(schema.items as Record<string, unknown>, `${path}[]`);
  if (typeof schema.additionalProperties === 'object') {
    yield* nodes(schema.additionalProperties as Record<string, unknown>, `${path}{}`);
  }
}

describe('ControlPlaneConnection CRD', () => {
  it('is committed in crds/ exactly as generated from the zod schema (run `make crds` after changing it)', () => {
    expect(readFileSync(join(root, crdFile), 'utf8')).toBe(controlPlaneConnectionCRDYaml());
  });

  it('is a structural schema: every node typed (or int-or-string / preserve-unknown), no additionalProperties beside properties', () => {
    const crd = controlPlaneConnectionCRD() as {
      spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    };
    const problems: string[] = [];
    for (const [path, node] of nodes(crd.spec.versions[0]!.schema.openAPIV3Schema)) {
      if (node.type === undefined && node['x-kubernetes-int-or-string'] !== true)
        problems.push(`${path}: no type`);
      if (node.properties !== undefined && node.additionalProperties !== undefined)
        problems.push(`${path}: both`);
      if ('$schema' in node || 'anyOf' in node || 'oneOf' in node)
        problems.push(`${path}: unsupported keyword`);
    }
    expect(problems).toEqual([]);
  });

  it('declares status as a subresource, the short name and kubectl columns', () => {
    const crd = controlPlaneConnectionCRD() as {
      spec: {
        scope: string;
        names: { shortNames: string[] };
        versions: { subresources: unknown; additionalPrinterColumns: { name: string }[] }[];
      };
    };
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names.shortNames).toEqual(['ctpc']);
    expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
    expect(crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Ready',
      'Reason',
      'Control-Plane',
      'Namespace',
      'APIs',
      'Age',
    ]);
  });
});
