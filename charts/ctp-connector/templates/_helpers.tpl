{{/* Prefix of every object name: the release name when it contains the chart name, else "<release>-<chart>". */}}
{{- define "ctp-connector.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ctp-connector.operator" -}}{{ include "ctp-connector.fullname" . }}-operator{{- end }}
{{- define "ctp-connector.proxyClusterRole" -}}{{ include "ctp-connector.fullname" . }}-proxy{{- end }}
{{- define "ctp-connector.proxySecretsClusterRole" -}}{{ include "ctp-connector.fullname" . }}-proxy-secrets{{- end }}
{{- define "ctp-connector.credentialSecret" -}}
{{- default (printf "%s-control-plane" (include "ctp-connector.fullname" .)) .Values.controlPlane.existingSecret }}
{{- end }}

{{- define "ctp-connector.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "ctp-connector.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ctp-connector
{{- end }}

{{/* The operator's pods; the name is the one config/manager uses and the proxies' is fixed by the operator. */}}
{{- define "ctp-connector.operatorSelector" -}}
app.kubernetes.io/name: ctp-connector-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Cross-field rules the schema cannot say clearly: which control-plane credential goes with which, and that a
credential without a targetNamespace (or the reverse) is a mistake rather than silently ignored.
*/}}
{{- define "ctp-connector.validate" -}}
{{- $cp := .Values.controlPlane }}
{{- $given := list }}
{{- range $key := list "kubeconfig" "server" "token" "caBundle" "existingSecret" }}
{{- if index $cp $key }}{{ $given = append $given $key }}{{ end }}
{{- end }}
{{- if .Values.connection.targetNamespace }}
{{- if not $given }}
{{- fail "connection.targetNamespace is set but no control-plane credential: set controlPlane.kubeconfig, controlPlane.server with controlPlane.token, or controlPlane.existingSecret" }}
{{- end }}
{{- if and $cp.kubeconfig (or $cp.server $cp.token $cp.caBundle $cp.existingSecret) }}
{{- fail "controlPlane.kubeconfig goes alone: it already names the server, its CA and the credential" }}
{{- end }}
{{- if and $cp.server (not (or $cp.token $cp.existingSecret)) }}
{{- fail "controlPlane.server needs controlPlane.token (or controlPlane.existingSecret holding key \"token\")" }}
{{- end }}
{{- if and $cp.token (not $cp.server) }}
{{- fail "controlPlane.token needs controlPlane.server" }}
{{- end }}
{{- if and $cp.token $cp.existingSecret }}
{{- fail "set controlPlane.token or controlPlane.existingSecret, not both" }}
{{- end }}
{{- if and $cp.caBundle (not $cp.server) }}
{{- fail "controlPlane.caBundle goes with controlPlane.server" }}
{{- end }}
{{- else if $given }}
{{- fail (printf "controlPlane.%s is set but connection.targetNamespace is not: set the control-plane namespace this cluster's claims live in" (first $given)) }}
{{- end }}
{{- if and (gt (int .Values.operator.replicas) 1) (not .Values.operator.leaderElect) }}
{{- fail "operator.leaderElect=false needs operator.replicas=1: two operators would reconcile the same connections" }}
{{- end }}
{{- end }}
