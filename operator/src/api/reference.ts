// Generates docs/api.md, the ControlPlaneConnection API reference, from the CRD that crd.ts generates from the zod
// schema: every field with its type, default, validation (CEL rules included) and description, the printer columns
// and the condition types. The reference therefore says exactly what the API server enforces. Pure.
import { conditionTypes } from '../connection/conditions.ts';
import * as api from './connection.ts';
import { controlPlaneConnectionCRD } from './crd.ts';

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  required?: string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
}

interface Version {
  name: string;
  additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
  schema: { openAPIV3Schema: SchemaNode };
}

interface Row {
  path: string;
  node: SchemaNode;
  required: boolean;
}

export const referenceFile = 'docs/api.md';

/** docs/api.md as committed. */
export function apiReferenceMarkdown(): string {
  const crd = controlPlaneConnectionCRD() as {
    spec: { scope: string; versions: Version[] };
  };
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema;
  const lines = [
    '<!-- Generated from operator/src/api/connection.ts by `make crds`; do not edit. -->',
    '',
    '# ControlPlaneConnection API reference',
    '',
    `\`${api.apiVersion}\`, kind \`${api.kind}\`: ${crd.spec.scope.toLowerCase()}-scoped, plural ` +
      `\`${api.plural}\`, short name${api.shortNames.length > 1 ? 's' : ''} ${api.shortNames.map(code).join(', ')}, ` +
      `categor${api.categories.length > 1 ? 'ies' : 'y'} ${api.categories.map(code).join(', ')}, with a status ` +
      'subresource.',
    '',
    prose(root.description ?? ''),
    '',
    'Examples: [config/samples](../config/samples). What each condition reason means and what to do about it: ' +
      '[troubleshooting](troubleshooting.md).',
    '',
    '## kubectl get columns',
    '',
    '| Column | Type | JSONPath |',
    '| --- | --- | --- |',
    ...version.additionalPrinterColumns.map((c) => `| ${c.name} | ${c.type} | ${code(c.jsonPath)} |`),
  ];
  for (const part of ['spec', 'status'] as const) {
    const node = root.properties![part]!;
    lines.push('', `## ${part}`, '', prose(node.description ?? ''));
    lines.push(...rulesOf(node, part));
    lines.push(
      '',
      '| Field | Type | Default | Validation | Description |',
      '| --- | --- | --- | --- | --- |',
      ...fields(node, part).map(
        (row) =>
          `| ${code(row.path)} | ${typeOf(row.node)} | ${defaultOf(row.node)} | ` +
          `${validationOf(row.node, row.required)} | ${prose(row.node.description ?? '')} |`,
      ),
    );
  }
  lines.push(
    '',
    '## Conditions',
    '',
    '`status.conditions` holds one entry per type. `lastTransitionTime` changes only when `status` flips; each ' +
      'entry carries the `observedGeneration` it was computed from, so `kubectl wait --for=condition=Ready` and ' +
      'kstatus-based tools (Flux) can tell a current status from a stale one.',
    '',
    '| Type | Meaning |',
    '| --- | --- |',
    ...Object.entries(conditionTypes).map(([type, meaning]) => `| ${code(type)} | ${prose(meaning)} |`),
    '',
    'Every reason, what it means and what to do: [troubleshooting](troubleshooting.md#condition-reasons).',
    '',
  );
  return lines.join('\n');
}

/** Every field below `node`, depth first, objects before their fields; array items and map values as `[]` and `{}`. */
function fields(node: SchemaNode, path: string): Row[] {
  const rows: Row[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const childPath = `${path}.${name}`;
    rows.push({ path: childPath, node: child, required: node.required?.includes(name) ?? false });
    rows.push(...nested(child, childPath));
  }
  return rows;
}

function nested(node: SchemaNode, path: string): Row[] {
  if (node.properties) return fields(node, path);
  if (node.items?.properties) return fields(node.items, `${path}[]`);
  return [];
}

function typeOf(node: SchemaNode): string {
  if (node['x-kubernetes-int-or-string']) return 'int-or-string';
  if (node.type === 'array') return `[]${node.items ? typeOf(node.items) : 'any'}`;
  if (node.type === 'object' && node.additionalProperties)
    return `map[string]${typeOf(node.additionalProperties)}`;
  if (node.type === 'object' && node['x-kubernetes-preserve-unknown-fields']) return 'object (any fields)';
  if (node.format) return `${node.type} (${node.format})`;
  return node.type ?? 'any';
}

function defaultOf(node: SchemaNode): string {
  return node.default === undefined ? '' : code(JSON.stringify(node.default));
}

function validationOf(node: SchemaNode, required: boolean): string {
  const parts: string[] = [];
  if (required) parts.push('**required**');
  if (node.enum) parts.push(`one of ${node.enum.map((v) => code(String(v))).join(', ')}`);
  if (node.minLength !== undefined || node.maxLength !== undefined)
    parts.push(`length ${range(node.minLength, node.maxLength)}`);
  if (node.minimum !== undefined || node.maximum !== undefined)
    parts.push(`value ${range(node.minimum, node.maximum)}`);
  if (node.maxItems !== undefined) parts.push(`at most ${node.maxItems} items`);
  if (node.pattern) parts.push(`pattern ${code(node.pattern)}`);
  const items = node.items ?? node.additionalProperties;
  if (items?.['x-kubernetes-int-or-string']) parts.push('values are quantities (e.g. `100m`, `1Gi`)');
  if (node['x-kubernetes-list-type'] === 'map')
    parts.push(`one entry per ${(node['x-kubernetes-list-map-keys'] ?? []).map(code).join(', ')}`);
  for (const rule of node['x-kubernetes-validations'] ?? [])
    parts.push(`CEL ${code(rule.rule)}: ${rule.message ?? ''}`);
  return parts.map(cell).join('; ');
}

/** The CEL rules of an object shown above its table (spec's own rules apply across fields). */
function rulesOf(node: SchemaNode, path: string): string[] {
  const rules = node['x-kubernetes-validations'] ?? [];
  if (rules.length === 0) return [];
  return [
    '',
    `Rules on \`${path}\` (CEL, checked by the API server on create and update):`,
    '',
    ...rules.map((r) => `- ${code(r.rule)}: ${r.message ?? ''}`),
  ];
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `${min}–${max}`;
  return min !== undefined ? `≥ ${min}` : `≤ ${max}`;
}

/** Inline code that survives a Markdown table cell. */
function code(text: string): string {
  return `\`${text}\``;
}

/** Table cells are one line, and a pipe (also inside inline code) ends a cell unless escaped. */
function cell(text: string): string {
  return oneLine(text).replaceAll('|', '\\|');
}

/** Schema descriptions are plain text: angle brackets are not HTML. */
function prose(text: string): string {
  return cell(text).replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
