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

export default {
  // Integration tests start clusters and wait for controllers; unit tests finish far below this.
  testTimeout: 120_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/operator/**/*.test.ts', '<rootDir>/bench/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/e2e/jest/global-setup.ts',
      globalTeardown: '<rootDir>/e2e/jest/global-teardown.ts',
      slowTestThreshold: 30,
    },
  ],
};
