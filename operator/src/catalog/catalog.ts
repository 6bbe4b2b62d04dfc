// The API catalog: what a connection serves (group/versions, resources, their schemas and printer columns) and
// where claims go (targetNamespace, clusterID). The operator writes it into a ConfigMap; the proxy serves discovery
// and OpenAPI from it without asking the control plane. Gzipped: CRD schemas are large, ConfigMaps hold 1 MiB.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ServedGroupVersion } from '../connection/discovery.ts';

export interface Catalog {
  connection: string;
  clusterID: string;
  targetNamespace: string;
  groupVersions: ServedGroupVersion[];
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
