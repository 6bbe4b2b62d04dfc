// Pins Flux's source-controller (Flux v2.9). Not built from this module: the controller's go.mod replaces its nested ./api
// module, which the module zip leaves out, so build.sh builds inside a copy of the module with the api module of the
// same version placed at ./api, and takes the CRDs from its config/crd/bases. This pair only names and verifies them.
module ctp-connector/e2e/toolchain/flux-source

go 1.26.0

require (
	github.com/fluxcd/source-controller v1.9.3
	github.com/fluxcd/source-controller/api v1.9.3
)
