import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { chartCrdFile, controlPlaneConnectionCRDYaml } from './crd.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('Helm chart CRD', () => {
  it('is the generated CRD, byte for byte (run `make crds` after changing the schema)', () => {
    expect(readFileSync(join(root, chartCrdFile), 'utf8')).toBe(controlPlaneConnectionCRDYaml());
  });
});
