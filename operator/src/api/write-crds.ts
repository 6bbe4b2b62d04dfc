// Writes crds/ from the zod schema (`make crds`). A unit test fails when the committed files are stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlPlaneConnectionCRDYaml, crdFile } from './crd.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
writeFileSync(join(root, crdFile), controlPlaneConnectionCRDYaml());
console.log(`wrote ${crdFile}`);
