import { readFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

// Two projects: `unit` (pure logic, no cluster) and `integration` (real local clusters; one worker, since the
// clusters are shared and the machine has two cores).
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2024' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    },
  ],
};
const common = { transform, extensionsToTreatAsEsm: ['.ts'], testEnvironment: 'node' };

// `make e2e-kind` (CTP_E2E_PROVIDER=kind) runs the end-to-end files that drive the connector only through the
// clusters' APIs; the others stop API servers, replace proxy processes or start extra local clusters.
const kindSuite = JSON.parse(readFileSync(new URL('./e2e/kind/suite.json', import.meta.url), 'utf8'));
const integrationMatch =
  process.env.CTP_E2E_PROVIDER === 'kind'
    ? kindSuite.map((name) => `<rootDir>/e2e/${name}.test.ts`)
    : ['<rootDir>/e2e/**/*.test.ts'];

export default {
  // Integration tests start clusters and wait for controllers; unit tests finish far below this.
  testTimeout: 120_000,
  testSequencer: '<rootDir>/e2e/jest/sequencer.ts',
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/operator/**/*.test.ts',
        '<rootDir>/bench/**/*.test.ts',
        '<rootDir>/e2e/fixtures/**/*.test.ts',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: integrationMatch,
      // Fixtures' own tests (the composition function's) need no cluster: they are unit tests.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/e2e/fixtures/'],
      globalSetup: '<rootDir>/e2e/jest/global-setup.ts',
      globalTeardown: '<rootDir>/e2e/jest/global-teardown.ts',
      slowTestThreshold: 30,
    },
  ],
};
