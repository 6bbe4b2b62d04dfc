// Pins Argo CD v3.6.1 (the application controller and the repo server; one binary, `argocd`, that acts as the
// component it is named after). Not built from this module: Argo CD's go.mod replaces github.com/argoproj/argo-cd/
// gitops-engine/v3 with its ./gitops-engine folder, which the module zip leaves out, and `replace` only applies in the
// main module. So build.sh builds inside a copy of the module with the gitops-engine module of the same version placed
// at ./gitops-engine, and the copy's own go.sum verifies the rest. It needs Go 1.27 (GOTOOLCHAIN=go1.27.3, fetched
// through the module proxy). This pair only names and verifies the two modules.
module ctp-connector/e2e/toolchain/argocd

go 1.27.0

require (
	github.com/argoproj/argo-cd/gitops-engine/v3 v3.6.1
	github.com/argoproj/argo-cd/v3 v3.6.1
)
