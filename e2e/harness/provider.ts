// Where the end-to-end suite's clusters come from and how the connector runs on them. `local` (the default, and
// what CI runs): clusters built from source as processes on loopback, the operator and proxy in the test process.
// `kind` (`make e2e-kind`, for machines with Docker): kind clusters, the connector installed from its image as the
// real Deployments. Everything else — manifests, fixtures, kubectl, assertions — is the same code for both.

export type Provider = 'local' | 'kind';

export const providerVariable = 'CTP_E2E_PROVIDER';

export function provider(): Provider {
  const value = process.env[providerVariable] ?? 'local';
  if (value !== 'local' && value !== 'kind')
    throw new Error(`${providerVariable} must be "local" or "kind", not "${value}"`);
  return value;
}

/** The image `make e2e-kind` builds and loads into the kind clusters. */
export const kindImage = 'ctp-connector:e2e';
