import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { conditionTypes } from '../connection/conditions.ts';
import { controlPlaneConnectionCRD } from './crd.ts';
import { apiReferenceMarkdown, referenceFile } from './reference.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
type Node = {
  description?: string;
  properties?: Record<string, Node>;
  items?: Node;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
};

const schema = (
  controlPlaneConnectionCRD() as { spec: { versions: { schema: { openAPIV3Schema: Node } }[] } }
).spec.versions[0]!.schema.openAPIV3Schema;

/** Every field below spec and status, with its path as the reference spells it. */
function* fieldsOf(node: Node, path: string): Generator<[string, Node]> {
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    yield [`${path}.${name}`, child];
    yield* fieldsOf(child, `${path}.${name}`);
    if (child.items) yield* fieldsOf(child.items, `${path}.${name}[]`);
  }
}
const fields = [
  ...fieldsOf(schema.properties!.spec!, 'spec'),
  ...fieldsOf(schema.properties!.status!, 'status'),
];
const markdown = apiReferenceMarkdown();
const rows = markdown.split('\n').filter((line) => line.startsWith('| `'));

describe('API reference (docs/api.md)', () => {
  it('is committed exactly as generated from the zod schema (run `make crds` after changing it)', () => {
    expect(readFileSync(join(root, referenceFile), 'utf8')).toBe(markdown);
  });

  it('describes every spec and status field in a row of its own (so `kubectl explain` has a text too)', () => {
    expect(fields.length).toBeGreaterThan(50);
    const undescribed = fields.filter(([, node]) => !node.description?.trim()).map(([path]) => path);
    expect(undescribed).toEqual([]);
    const missing = fields.filter(([path]) => !rows.some((r) => r.startsWith(`| \`${path}\` |`)));
    expect(missing.map(([path]) => path)).toEqual([]);
  });

  it('shows every CEL rule with its message', () => {
    const rules = [schema.properties!.spec!, ...fields.map(([, node]) => node)].flatMap(
      (node) => node['x-kubernetes-validations'] ?? [],
    );
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules) {
      // Object rules are listed above the table as they are; field rules sit in a cell, pipes escaped.
      const listed = `- \`${rule.rule}\`: ${rule.message}`;
      const inCell = `CEL \`${rule.rule.replaceAll('|', '\\|')}\`: ${rule.message}`;
      expect({ rule: rule.rule, shown: markdown.includes(listed) || markdown.includes(inCell) }).toEqual({
        rule: rule.rule,
        shown: true,
      });
    }
  });

  it('keeps every table row intact: pipes inside cells are escaped', () => {
    const table = markdown.split('\n').filter((line) => line.startsWith('|'));
    const columns = (line: string) => line.replaceAll('\\|', '').split('|').length - 2;
    const broken = table.filter((line) => ![2, 3, 5].includes(columns(line)));
    expect(broken).toEqual([]);
    // The rule with `||` is in a five-column row.
    const withOr = rows.find((r) => r.includes('\\|\\|'));
    expect(withOr && columns(withOr)).toBe(5);
  });

  it('lists every condition type the operator sets', () => {
    for (const type of Object.keys(conditionTypes)) expect(markdown).toContain(`| \`${type}\` |`);
  });
});
