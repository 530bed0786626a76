{{/* Names and labels. */}}
{{- define "toolbridge-mcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "toolbridge-mcp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "toolbridge-mcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "toolbridge-mcp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "toolbridge-mcp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "toolbridge-mcp.selectorLabels" . }}
app.kubernetes.io/component: mcp-gateway
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "toolbridge-mcp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "toolbridge-mcp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "toolbridge-mcp.configName" -}}
{{- printf "%s-config" (include "toolbridge-mcp.fullname" .) }}
{{- end }}

{{/* The Secret the pod reads: the operator's own, or the one this chart makes. */}}
{{- define "toolbridge-mcp.secretName" -}}
{{- default (printf "%s-secret" (include "toolbridge-mcp.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/*
Stateless or not: the explicit value, else stateless whenever more than one pod may run
(replicaCount > 1 or the HPA on). See gateway.stateless in values.yaml for why.
*/}}
{{- define "toolbridge-mcp.stateless" -}}
{{- if kindIs "bool" .Values.gateway.stateless }}
{{- .Values.gateway.stateless }}
{{- else }}
{{- or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- end }}
{{- end }}

{{/* Sign-in is on when the gateway names an authorization server to its clients. */}}
{{- define "toolbridge-mcp.signIn" -}}
{{- or .Values.gateway.auth.oidcIssuer .Values.gateway.auth.authorizationServers | ternary "true" "false" }}
{{- end }}

{{/* The host of the public URL (accepted in the Host header, named by the route). */}}
{{- define "toolbridge-mcp.publicHost" -}}
{{- with .Values.gateway.publicUrl }}{{ (urlParse .).host }}{{ end }}
{{- end }}

{{/*
Secret keys the pod reads: [env name, values key, key in the Secret]. One table, used by
the Secret (what it holds) and the Deployment (what it reads).
*/}}
{{- define "toolbridge-mcp.secretEnv" -}}
- [TOOLBRIDGE_TENANT_HEADER_SECRET, tenantHeaderSecret, tenant-header-secret]
- [TOOLBRIDGE_JWT_HS256_SECRET, jwtHs256Secret, jwt-hs256-secret]
- [TOOLBRIDGE_TOKEN_EXCHANGE_CLIENT_SECRET, tokenExchangeClientSecret, token-exchange-client-secret]
{{- end }}


{{- define "toolbridge-mcp.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}
