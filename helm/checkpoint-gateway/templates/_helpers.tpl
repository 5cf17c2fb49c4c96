{{/* Names and labels. */}}
{{- define "cg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cg.fullname" -}}
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

{{- define "cg.headlessName" -}}
{{- printf "%s-headless" (include "cg.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "cg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cg.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cg.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: server
app.kubernetes.io/part-of: checkpoint-gateway
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "cg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cg.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cg.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* SQLite, file and memory keep their data inside one Pod (or its one volume). */}}
{{- define "cg.singleReplicaBackend" -}}
{{- if has .Values.backend.type (list "sqlite" "file" "memory") }}true{{ end }}
{{- end }}

{{/* Backends whose data lives on the chart's PersistentVolumeClaim. */}}
{{- define "cg.usesVolume" -}}
{{- if and (has .Values.backend.type (list "sqlite" "file")) .Values.persistence.enabled }}true{{ end }}
{{- end }}

{{- define "cg.pvcName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "cg.fullname" .)) }}
{{- end }}

{{/* The backend URL the chart builds, or the one given. */}}
{{- define "cg.backendURL" -}}
{{- $b := .Values.backend }}
{{- if eq $b.type "sqlite" }}
{{- printf "sqlite:///%s/%s" (trimSuffix "/" .Values.persistence.mountPath) $b.sqlite.file }}
{{- else if eq $b.type "file" }}
{{- printf "file://%s" (trimSuffix "/" .Values.persistence.mountPath) }}
{{- else if eq $b.type "memory" }}
{{- print "memory://" }}
{{- else }}
{{- $b.url }}
{{- end }}
{{- end }}

{{/*
The chart's Secret holds the backend URL (unless backend.existingSecret does), the page
token key (unless auth.pageTokenKey.existingSecret does) and extraSecretEnv.
*/}}
{{- define "cg.createSecret" -}}
{{- if or (not .Values.backend.existingSecret) (not .Values.auth.pageTokenKey.existingSecret) .Values.extraSecretEnv }}true{{ end }}
{{- end }}

{{/*
The data of the chart's Secret as it is in the cluster; {} when there is none yet, and
always with `helm template` (no cluster). Only this reads the cluster (tests replace it).
*/}}
{{- define "cg.liveSecretData" -}}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "cg.fullname" .) }}
{{- (get $live "data") | default dict | toYaml }}
{{- end }}

{{/*
The page token key, base64 as Secret data: the one the Secret already holds (so an upgrade
keeps it, and the page tokens in flight stay valid), or a new random one on install.
*/}}
{{- define "cg.pageTokenKeyData" -}}
{{- $live := include "cg.liveSecretData" . | fromYaml }}
{{- get $live "CHECKPOINT_GATEWAY_PAGE_TOKEN_KEY" | default (randAlphaNum 48 | b64enc) }}
{{- end }}

{{/* Where the auth Secrets are mounted: each a read-only directory, never subPath. */}}
{{- define "cg.principalsDir" -}}/etc/checkpoint-gateway/principals{{- end }}
{{- define "cg.jwksDir" -}}/etc/checkpoint-gateway/jwks{{- end }}

{{/* Whether callers must authenticate (a principals file or a JWKS). */}}
{{- define "cg.authEnabled" -}}
{{- $a := .Values.auth }}
{{- if or $a.principals.existingSecret $a.jwt.jwksExistingSecret $a.jwt.jwksUrl }}true{{ end }}
{{- end }}

{{- define "cg.tlsDir" -}}
{{- trimSuffix "/" .Values.tls.mountPath }}
{{- end }}

{{- define "cg.tlsServerName" -}}
{{- .Values.tls.serverName | default (printf "%s.%s.svc" (include "cg.fullname" .) .Release.Namespace) }}
{{- end }}

{{/*
Every rule values.schema.json cannot express; rendering stops with one clear message.
*/}}
{{- define "cg.validate" -}}
{{- $v := .Values }}
{{- $b := $v.backend }}
{{- if include "cg.singleReplicaBackend" . }}
{{- if gt (int $v.replicaCount) 1 }}
{{- fail (printf "backend.type=%s is single-replica only (its data lives in one Pod's volume or memory): replicaCount=%d needs backend.type=postgresql or redis" $b.type (int $v.replicaCount)) }}
{{- end }}
{{- if $v.autoscaling.enabled }}
{{- fail (printf "backend.type=%s is single-replica only: autoscaling.enabled=true needs backend.type=postgresql or redis" $b.type) }}
{{- end }}
{{- end }}
{{- if has $b.type (list "postgresql" "redis" "redis-cluster") }}
{{- if and (not $b.url) (not $b.existingSecret) }}
{{- fail (printf "backend.type=%s needs backend.url (e.g. %s) or backend.existingSecret" $b.type (get (dict "postgresql" "postgresql://user:password@host:5432/db" "redis" "redis://host:6379/0" "redis-cluster" "redis+cluster://host1:7000,host2:7001") $b.type)) }}
{{- end }}
{{- if and $b.url (not (regexMatch (get (dict "postgresql" "^postgres(ql)?://" "redis" "^rediss?://" "redis-cluster" "^redis\\+cluster://") $b.type) $b.url)) }}
{{- fail (printf "backend.url does not match backend.type=%s (postgresql://, postgres://, redis://, rediss:// or redis+cluster://)" $b.type) }}
{{- end }}
{{- else if or $b.url $b.existingSecret }}
{{- fail (printf "backend.url and backend.existingSecret are for postgresql and redis; backend.type=%s is built by the chart" $b.type) }}
{{- end }}
{{- if and $v.tls.enabled (not $v.tls.secretName) }}
{{- fail "tls.enabled=true needs tls.secretName: a kubernetes.io/tls Secret with tls.crt and tls.key (and ca.crt for tls.clientAuth)" }}
{{- end }}
{{- if and $v.tls.clientAuth (not $v.tls.enabled) }}
{{- fail "tls.clientAuth=true needs tls.enabled=true" }}
{{- end }}
{{- $drain := add (int $v.config.graceSeconds) (int $v.preStopSleepSeconds) }}
{{- if le (int $v.terminationGracePeriodSeconds) $drain }}
{{- fail (printf "terminationGracePeriodSeconds=%d must be longer than preStopSleepSeconds + config.graceSeconds = %d, or the kubelet kills the gateway while it drains" (int $v.terminationGracePeriodSeconds) $drain) }}
{{- end }}
{{- if and (not $v.metrics.enabled) (or $v.metrics.serviceMonitor.enabled $v.metrics.prometheusRule.enabled) }}
{{- fail "metrics.serviceMonitor and metrics.prometheusRule need metrics.enabled=true" }}
{{- end }}
{{- if and $v.autoscaling.enabled (lt (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must be at least autoscaling.minReplicas" }}
{{- end }}
{{- $jwt := $v.auth.jwt }}
{{- if and $jwt.jwksExistingSecret $jwt.jwksUrl }}
{{- fail "auth.jwt: give jwksExistingSecret or jwksUrl, not both (the gateway takes one JWKS)" }}
{{- end }}
{{- if or $jwt.jwksExistingSecret $jwt.jwksUrl }}
{{- if or (not $jwt.issuer) (not $jwt.audience) }}
{{- fail "auth.jwt with a JWKS needs auth.jwt.issuer and auth.jwt.audience: without them any token signed by those keys, whoever it was issued to, would be accepted" }}
{{- end }}
{{- else if or $jwt.issuer $jwt.audience $jwt.tenantClaim $jwt.rolesClaim (ne (toString $jwt.leewaySeconds) "") }}
{{- fail "auth.jwt settings are set but no JWKS: set auth.jwt.jwksExistingSecret or auth.jwt.jwksUrl (else JWTs are not accepted at all)" }}
{{- end }}
{{- if and $v.console.enabled (not (or $v.auth.principals.existingSecret $v.auth.jwt.jwksExistingSecret $v.auth.jwt.jwksUrl)) }}
{{- fail "console.enabled=true needs authentication (auth.principals.existingSecret or auth.jwt): without it the console serves loopback only, which no Service reaches" }}
{{- end }}
{{- if $v.metrics.auth }}
{{- if not $v.metrics.enabled }}
{{- fail "metrics.auth=true needs metrics.enabled=true" }}
{{- end }}
{{- if not $v.auth.principals.existingSecret }}
{{- fail "metrics.auth=true needs auth.principals.existingSecret: the scraper's bearer token is looked up in the principals file (a principal with the metrics role)" }}
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.serviceMonitor.bearerTokenSecret.name) }}
{{- fail (printf "metrics.auth=true with metrics.serviceMonitor.enabled=true needs metrics.serviceMonitor.bearerTokenSecret.name: a Secret in namespace %s holding the token of a principal with the metrics role (else every scrape gets 401)" .Release.Namespace) }}
{{- end }}
{{- end }}
{{- range $name := list "CHECKPOINT_GATEWAY_BACKEND" "CHECKPOINT_GATEWAY_PAGE_TOKEN_KEY" }}
{{- if hasKey $v.extraEnv $name }}
{{- fail (printf "extraEnv.%s: a secret does not go in the ConfigMap (and the chart's Secret would win over it); use extraSecretEnv, backend.existingSecret or auth.pageTokenKey.existingSecret" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Probe handler: native gRPC health, or (TLS on) the same check over TLS by exec. */}}
{{- define "cg.probeHandler" -}}
{{- if .Values.tls.enabled }}
exec:
  command:
    - python
    - /etc/checkpoint-gateway/probe/grpc-health-probe.py
    - {{ printf "127.0.0.1:%d" (int .Values.service.grpcPort) | quote }}
    - --tls-dir={{ include "cg.tlsDir" . }}
    - --server-name={{ include "cg.tlsServerName" . }}
    {{- if .Values.tls.clientAuth }}
    - --client-cert
    {{- end }}
{{- else }}
grpc:
  port: {{ .Values.service.grpcPort }}
  service: ""
{{- end }}
{{- end }}
