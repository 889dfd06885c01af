{{/* Chart name (63 characters at most: a DNS label). */}}
{{- define "mcp-job-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: RELEASE-CHART, or RELEASE when it already contains the chart
name. 63 characters at most.
*/}}
{{- define "mcp-job-gateway.fullname" -}}
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

{{/* CHART-VERSION, for the helm.sh/chart label. */}}
{{- define "mcp-job-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "mcp-job-gateway.labels" -}}
helm.sh/chart: {{ include "mcp-job-gateway.chart" . }}
{{ include "mcp-job-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mcp-job-gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the pods (never change them on upgrade: a Deployment's selector is immutable). */}}
{{- define "mcp-job-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-job-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "mcp-job-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcp-job-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The container image: REPOSITORY@DIGEST, or REPOSITORY:TAG (tag default: appVersion). */}}
{{- define "mcp-job-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/* Where the config file is mounted, and its path (the container's --config argument). */}}
{{- define "mcp-job-gateway.configDir" -}}/etc/mcp-job-gateway{{- end }}
{{- define "mcp-job-gateway.configFile" -}}{{ include "mcp-job-gateway.configDir" . }}/config.yaml{{- end }}

{{/* Where secrets.existingSecret is mounted with secrets.mountAsFiles. */}}
{{- define "mcp-job-gateway.secretsDir" -}}/var/run/secrets/mcp-job-gateway{{- end }}

{{/* The MCP port: config.server.port (default 8080). */}}
{{- define "mcp-job-gateway.mcpPort" -}}
{{- $server := .Values.config.server | default dict }}
{{- $server.port | default 8080 | int }}
{{- end }}

{{/* The admin port (/metrics, /healthz, /readyz): config.admin.port (default 9090). */}}
{{- define "mcp-job-gateway.adminPort" -}}
{{- $admin := .Values.config.admin | default dict }}
{{- $admin.port | default 9090 | int }}
{{- end }}

{{/* The MCP path: config.server.path (default /mcp). */}}
{{- define "mcp-job-gateway.mcpPath" -}}
{{- $server := .Values.config.server | default dict }}
{{- $server.path | default "/mcp" }}
{{- end }}

{{/* The gateway's shutdown grace: config.server.shutdown_grace_seconds (default 20). */}}
{{- define "mcp-job-gateway.shutdownGrace" -}}
{{- $server := .Values.config.server | default dict }}
{{- if hasKey $server "shutdown_grace_seconds" }}{{ $server.shutdown_grace_seconds | int }}{{ else }}20{{ end }}
{{- end }}

{{/* The environment variable holding the state store's URL (stateStore.urlSecret), read by config.state.url. */}}
{{- define "mcp-job-gateway.stateUrlEnv" -}}MCP_JOB_GATEWAY_STATE_URL{{- end }}

{{/* The environment variable holding the Sentinels' password (stateStore.sentinel.passwordSecret), read by config.state.sentinel_password. */}}
{{- define "mcp-job-gateway.sentinelPasswordEnv" -}}MCP_JOB_GATEWAY_STATE_SENTINEL_PASSWORD{{- end }}

{{/* config.state as the chart writes it with stateStore.enabled. */}}
{{- define "mcp-job-gateway.stateConfig" -}}
{{- $st := .Values.stateStore }}
{{- $state := dict "store" "redis" "url" (printf "${env:%s}" (include "mcp-job-gateway.stateUrlEnv" .)) }}
{{- $_ := set $state "key_prefix" ($st.keyPrefix | default (printf "%s/%s:" .Release.Namespace (include "mcp-job-gateway.fullname" .))) }}
{{- if not (kindIs "invalid" $st.operationTimeoutMs) }}
{{- $_ := set $state "operation_timeout_ms" ($st.operationTimeoutMs | int) }}
{{- end }}
{{- with $st.sentinel }}
{{- if .sentinels }}
{{- $_ := set $state "sentinels" .sentinels }}
{{- $_ := set $state "sentinel_master" .masterName }}
{{- if .passwordSecret.key }}
{{- $_ := set $state "sentinel_password" (printf "${env:%s}" (include "mcp-job-gateway.sentinelPasswordEnv" $)) }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $state }}
{{- end }}

{{/* The rendered config.yaml (also hashed into the checksum/config pod annotation). */}}
{{- define "mcp-job-gateway.configYaml" -}}
# Rendered by the mcp-job-gateway Helm chart from values.config{{ if .Values.stateStore.enabled }} (state: from values.stateStore){{ end }}. Secrets are references only:
# ${env:NAME} (secrets.env{{ if .Values.stateStore.enabled }}, stateStore.urlSecret{{ end }}) or ${file:{{ include "mcp-job-gateway.secretsDir" . }}/KEY} (secrets.mountAsFiles).
{{- $config := deepCopy .Values.config }}
{{- if .Values.stateStore.enabled }}
{{- $_ := set $config "state" (include "mcp-job-gateway.stateConfig" . | fromYaml) }}
{{- end }}
{{ toYaml $config }}
{{- end }}

{{/* PromQL label matchers (without braces) that pick this release's series. */}}
{{- define "mcp-job-gateway.promSelector" -}}
{{- if .Values.metrics.prometheusRule.selector }}
{{- .Values.metrics.prometheusRule.selector }}
{{- else }}
{{- printf "namespace=%q, job=%q" .Release.Namespace (include "mcp-job-gateway.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Checks that span several values; fails the render with a message naming the value to fix.
*/}}
{{- define "mcp-job-gateway.validate" -}}
{{- $s := .Values.secrets }}
{{- if and (or $s.mountAsFiles (gt (len $s.env) 0)) (not $s.existingSecret) }}
{{- fail "secrets.existingSecret must name an existing Secret when secrets.mountAsFiles is true or secrets.env is set" }}
{{- end }}
{{- if and (gt (len $s.fileKeys) 0) (not $s.mountAsFiles) }}
{{- fail "secrets.fileKeys is set but secrets.mountAsFiles is false" }}
{{- end }}
{{- $grace := include "mcp-job-gateway.shutdownGrace" . | int }}
{{- $preStop := .Values.lifecycle.preStopSleepSeconds | int }}
{{- if le (.Values.terminationGracePeriodSeconds | int) (add $grace $preStop) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed lifecycle.preStopSleepSeconds (%d) + config.server.shutdown_grace_seconds (%d)" (.Values.terminationGracePeriodSeconds | int) $preStop $grace) }}
{{- end }}
{{- if eq (include "mcp-job-gateway.mcpPort" .) (include "mcp-job-gateway.adminPort" .) }}
{{- fail "config.admin.port must differ from config.server.port" }}
{{- end }}
{{- $serverSection := .Values.config.server | default dict }}
{{- range $key := list "sessions" "session_idle_timeout_seconds" "max_sessions" }}
{{- if hasKey $serverSection $key }}
{{- fail (printf "config.server.%s was removed: the gateway keeps no MCP sessions (any replica answers any call); delete this key" $key) }}
{{- end }}
{{- end }}
{{- $adminSection := .Values.config.admin | default dict }}
{{- if and (hasKey $adminSection "enabled") (not $adminSection.enabled) }}
{{- fail "config.admin.enabled is false: the chart's probes and ServiceMonitor need the admin endpoints (/healthz, /readyz, /metrics)" }}
{{- end }}
{{- range $key := list "server" "admin" }}
{{- $section := get $.Values.config $key | default dict }}
{{- $host := get $section "host" | default "127.0.0.1" | toString }}
{{- if or (hasPrefix "127." $host) (eq $host "localhost") (eq $host "::1") (eq $host "[::1]") }}
{{- fail (printf "config.%s.host is %q, a loopback address: set 0.0.0.0 (or ::) so that the Service and the probes reach the container" $key $host) }}
{{- end }}
{{- end }}
{{- $st := .Values.stateStore }}
{{- if $st.enabled }}
{{- if not (or $st.urlSecret.name $s.existingSecret) }}
{{- fail "stateStore.enabled needs the existing Secret holding the store's URL: set stateStore.urlSecret.name (or secrets.existingSecret) and stateStore.urlSecret.key" }}
{{- end }}
{{- with $st.sentinel }}
{{- if and .sentinels (not .masterName) }}
{{- fail "stateStore.sentinel.sentinels needs stateStore.sentinel.masterName: the name the Sentinels monitor the master under" }}
{{- end }}
{{- if and .masterName (not .sentinels) }}
{{- fail "stateStore.sentinel.masterName needs stateStore.sentinel.sentinels: the host:port of each Sentinel" }}
{{- end }}
{{- if and .passwordSecret.key (not .sentinels) }}
{{- fail "stateStore.sentinel.passwordSecret needs stateStore.sentinel.sentinels: the host:port of each Sentinel" }}
{{- end }}
{{- if and .passwordSecret.key (not (or .passwordSecret.name $s.existingSecret)) }}
{{- fail "stateStore.sentinel.passwordSecret.key needs the Secret holding it: set stateStore.sentinel.passwordSecret.name (or secrets.existingSecret)" }}
{{- end }}
{{- end }}
{{- if hasKey .Values.config "state" }}
{{- fail "config.state is written by the chart when stateStore.enabled is true: delete config.state (set stateStore.keyPrefix and stateStore.operationTimeoutMs instead)" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.egress.stateStore.to) }}
{{- fail "networkPolicy.enabled and stateStore.enabled: set networkPolicy.egress.stateStore.to to where the store runs (its pods, or an ipBlock); without it the pods cannot reach the store and share nothing" }}
{{- end }}
{{- end }}
{{- $tr := .Values.tracing }}
{{- if $tr.endpoint }}
{{- if regexMatch "/v1/traces/?$" $tr.endpoint }}
{{- fail (printf "tracing.endpoint is the collector's base URL (e.g. http://otel-collector.observability:4318): drop /v1/traces from %q, the gateway adds it" $tr.endpoint) }}
{{- end }}
{{- /* The config's tracing keys win over the OTEL_* variables the chart sets: one place only. */}}
{{- $own := .Values.config.tracing | default dict }}
{{- range $key := list "endpoint" "sampler" "service_name" }}
{{- if hasKey $own $key }}
{{- fail (printf "config.tracing.%s would override the chart's tracing values: delete it and set tracing.* instead" $key) }}
{{- end }}
{{- end }}
{{- if and (hasKey $own "enabled") (not $own.enabled) }}
{{- fail "config.tracing.enabled is false, which turns off the traces that tracing.endpoint asks for: delete it, or empty tracing.endpoint" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.egress.tracing.to) }}
{{- fail "networkPolicy.enabled and tracing.endpoint: set networkPolicy.egress.tracing.to to where the OpenTelemetry collector runs (its pods, or an ipBlock); without it the pods cannot send their traces" }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (lt (.Values.autoscaling.maxReplicas | int) (.Values.autoscaling.minReplicas | int)) }}
{{- fail "autoscaling.maxReplicas must be at least autoscaling.minReplicas" }}
{{- end }}
{{- end }}
