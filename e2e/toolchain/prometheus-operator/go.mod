// Pins the prometheus-operator release whose CRDs (ServiceMonitor, PodMonitor, PrometheusRule) the chart and
// config/observability tests install into the local app cluster. Only downloaded (`go mod download`), never built.
module ctp-connector/e2e/toolchain/prometheus-operator

go 1.24

require github.com/prometheus-operator/prometheus-operator v0.85.0
