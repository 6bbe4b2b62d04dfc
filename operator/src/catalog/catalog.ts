// The API catalog: what a connection serves (group/versions, resources, their schemas and printer columns) and
// where claims go (targetNamespace, clusterID). The operator writes it into a ConfigMap; the proxy serves discovery
// and OpenAPI from it without asking the control plane. Gzipped: CRD schemas are large, ConfigMaps hold 1 MiB.
import { gunzipSync, gzipSync } from 'node:zlib';

export interface Catalog {
  connection: string;
  clusterID: string;
  targetNamespace: string;
  groupVersions: ServedGroupVersion[];
}

/** A printer column of the claim's CRD, shown by `kubectl get` (Tables). */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** One served resource in one group/version: what discovery and OpenAPI describe. */
export interface ServedResource {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  /** Where it comes from in the control plane: the XRD, and whether it is a claim or a namespaced XR. */
  xrd: string;
  origin: 'Claim' | 'NamespacedXR';
  hasStatus: boolean;
  schema: Record<string, unknown> | undefined;
  printerColumns: PrinterColumn[];
}

export interface ServedGroupVersion {
  group: string;
  version: string;
  resources: ServedResource[];
}

export const catalogKey = 'catalog.json.gz';

export function encodeCatalog(catalog: Catalog): string {
  return gzipSync(JSON.stringify(catalog), { level: 9 }).toString('base64');
}

export function decodeCatalog(binaryData: Record<string, string> | undefined): Catalog {
  const encoded = binaryData?.[catalogKey];
  if (!encoded) throw new Error(`catalog ConfigMap has no binaryData.${catalogKey}`);
  return JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8')) as Catalog;
}
