// Generates the ControlPlaneConnection CustomResourceDefinition from the zod schema: zod → OpenAPI 3.0 JSON Schema,
// then reshaped into a Kubernetes structural schema (no $schema, no additionalProperties next to properties,
// int-or-string as Kubernetes spells it, no meaningless integer bounds).
import { z } from 'zod';
import { dump } from 'js-yaml';
import * as api from './connection.ts';

type JSONSchema = { [key: string]: unknown };

const readyCondition = '.status.conditions[?(@.type=="Ready")]';

export function controlPlaneConnectionCRD(): Record<string, unknown> {
  const spec = structural(z.toJSONSchema(api.specSchema, { target: 'openapi-3.0', io: 'input' }));
  const status = structural(z.toJSONSchema(api.statusSchema, { target: 'openapi-3.0', io: 'input' }));
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${api.plural}.${api.group}` },
    spec: {
      group: api.group,
      names: {
        kind: api.kind,
        listKind: `${api.kind}List`,
        plural: api.plural,
        singular: api.singular,
        shortNames: api.shortNames,
        categories: api.categories,
      },
      scope: 'Cluster',
      versions: [
        {
          name: api.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: `${readyCondition}.status` },
            { name: 'Reason', type: 'string', jsonPath: `${readyCondition}.reason` },
            { name: 'Control-Plane', type: 'string', jsonPath: '.status.controlPlane.server' },
            { name: 'Namespace', type: 'string', jsonPath: '.spec.targetNamespace' },
            { name: 'APIs', type: 'integer', jsonPath: '.status.servedAPIs' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                "ControlPlaneConnection serves a Crossplane control plane's claim APIs in this cluster through " +
                'the aggregation layer, storing this cluster’s claims in one namespace of the control plane.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}

/** The CRD as the YAML file committed under crds/. */
export function controlPlaneConnectionCRDYaml(): string {
  return (
    '# Generated from operator/src/api/connection.ts by `make crds`; do not edit.\n' +
    dump(controlPlaneConnectionCRD(), { lineWidth: 120, noRefs: true, sortKeys: false })
  );
}

export const crdFile = `crds/${api.group}_${api.plural}.yaml`;
/** The Helm chart's copy: Helm installs CRDs only from the chart's own crds/ directory. Also written by `make crds`. */
export const chartCrdFile = `charts/ctp-connector/${crdFile}`;

function structural(node: JSONSchema): JSONSchema {
  const out: JSONSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    // zod bounds every integer to the safe-integer range; Kubernetes needs no such bound.
    if (
      (key === 'maximum' && value === Number.MAX_SAFE_INTEGER) ||
      (key === 'minimum' && value === Number.MIN_SAFE_INTEGER)
    ) {
      continue;
    }
    out[key] = value;
  }
  if (out['x-kubernetes-int-or-string'] === true) {
    delete out.anyOf;
    delete out.type;
    return out;
  }
  if (out.properties && typeof out.properties === 'object') {
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, JSONSchema>).map(([k, v]) => [k, structural(v)]),
    );
  }
  const additional = out.additionalProperties;
  if (additional !== undefined) {
    const open =
      additional === true ||
      (typeof additional === 'object' && Object.keys(additional as object).length === 0);
    if (open) {
      delete out.additionalProperties;
      out['x-kubernetes-preserve-unknown-fields'] = true;
      if (out.properties && Object.keys(out.properties).length === 0) delete out.properties;
    } else if (additional === false) {
      delete out.additionalProperties;
    } else {
      out.additionalProperties = structural(additional as JSONSchema);
    }
  }
  if (out.items && typeof out.items === 'object') out.items = structural(out.items as JSONSchema);
  return out;
}
