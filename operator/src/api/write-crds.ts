// Writes what is generated from the zod schema (`make crds`): crds/, the Helm chart's copy of the CRD and the API
// reference docs/api.md. Unit tests fail when the committed files are stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartCrdFile, controlPlaneConnectionCRDYaml, crdFile } from './crd.ts';
import { apiReferenceMarkdown, referenceFile } from './reference.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
for (const [file, content] of [
  [crdFile, controlPlaneConnectionCRDYaml()],
  [chartCrdFile, controlPlaneConnectionCRDYaml()],
  [referenceFile, apiReferenceMarkdown()],
] as const) {
  writeFileSync(join(root, file), content);
  console.log(`wrote ${file}`);
}
