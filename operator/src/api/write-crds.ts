// Writes crds/ and the Helm chart's copy from the zod schema (`make crds`). Unit tests fail when either is stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartCrdFile, controlPlaneConnectionCRDYaml, crdFile } from './crd.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
for (const file of [crdFile, chartCrdFile]) {
  writeFileSync(join(root, file), controlPlaneConnectionCRDYaml());
  console.log(`wrote ${file}`);
}
