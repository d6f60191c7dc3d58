{{/*
The chart name, cut to 63 characters: Kubernetes names and label values allow no more.
*/}}
{{- define "stampede.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name, release-chart (or the release alone when it already contains the chart name),
cut to 63 characters. The master's Service carries it, so workers find the master at
<fullname>:<grpcPort>. Suffixed names (-worker, -target) cut it further, to stay within 63.
*/}}
{{- define "stampede.fullname" -}}
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

{{/* The name of a component's resources: <fullname>-<suffix>, within 63 characters. */}}
{{- define "stampede.componentName" -}}
{{- $suffix := .suffix }}
{{- printf "%s-%s" (include "stampede.fullname" .ctx | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "stampede.workerName" -}}
{{- include "stampede.componentName" (dict "ctx" . "suffix" "worker") }}
{{- end }}

{{- define "stampede.targetName" -}}
{{- include "stampede.componentName" (dict "ctx" . "suffix" "target") }}
{{- end }}

{{/*
The headless master's Job. A Job's pod template cannot change, so each release revision gets a Job of
its own: `helm upgrade` starts a new run instead of failing on an immutable field.
*/}}
{{- define "stampede.jobName" -}}
{{- include "stampede.componentName" (dict "ctx" . "suffix" (printf "run-%d" (int .Release.Revision))) }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "stampede.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every resource. Call with (dict "ctx" $ "component" "master").
*/}}
{{- define "stampede.labels" -}}
helm.sh/chart: {{ include "stampede.chart" .ctx }}
{{ include "stampede.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: stampede
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: stable across upgrades (a Deployment's selector cannot change), so no version.
Call with (dict "ctx" $ "component" "master").
*/}}
{{- define "stampede.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stampede.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/* The master's ServiceAccount. */}}
{{- define "stampede.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "stampede.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference from {repository, tag, digest}; the tag defaults to the chart's appVersion.
Call with (dict "image" .Values.master.image "ctx" $).
*/}}
{{- define "stampede.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (toString (default .ctx.Chart.AppVersion .image.tag)) }}
{{- end }}
{{- end }}

{{/* The master's gRPC address, as workers dial it. */}}
{{- define "stampede.masterAddress" -}}
{{- printf "%s.%s.svc:%d" (include "stampede.fullname" .) .Release.Namespace (int .Values.master.service.grpcPort) }}
{{- end }}

{{/*
The script's __ENV: run.env, plus TARGET aimed at the demo target when it is enabled and TARGET
is not set already.
*/}}
{{- define "stampede.scriptEnv" -}}
{{- $env := deepCopy .Values.run.env }}
{{- if and .Values.target.enabled (not (hasKey $env "TARGET")) }}
{{- $_ := set $env "TARGET" (printf "http://%s:%d" (include "stampede.targetName" .) (int .Values.target.port)) }}
{{- end }}
{{- toJson $env }}
{{- end }}

{{/*
The ConfigMap key of an extra file: keys allow only [-._a-zA-Z0-9], so a path such as lib/util.js
becomes lib_util.js; the volume's items put it back at its path.
*/}}
{{- define "stampede.fileKey" -}}
{{- regexReplaceAll "[^-._a-zA-Z0-9]" . "_" }}
{{- end }}

{{/*
The master container, the same in the Deployment (ui) and the Job (headless).
*/}}
{{- define "stampede.masterContainer" -}}
- name: master
  image: {{ include "stampede.image" (dict "image" .Values.master.image "ctx" .) }}
  imagePullPolicy: {{ .Values.master.image.pullPolicy }}
  args:
    - -f
    - {{ printf "/scripts/%s" .Values.scriptName | quote }}
    {{- if eq .Values.mode "headless" }}
    - --headless
    {{- end }}
    {{- /* Flags rather than STAMPEDE_ENV: values may contain commas. */}}
    {{- range $k, $v := (include "stampede.scriptEnv" . | fromJson) }}
    - {{ printf "--env=%s=%s" $k $v | quote }}
    {{- end }}
    {{- range .Values.run.thresholds }}
    - {{ printf "--threshold=%s" . | quote }}
    {{- end }}
    {{- with .Values.master.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  env:
    # Every flag reads STAMPEDE_<FLAG>; an explicit flag in args wins.
    - name: STAMPEDE_MASTER_BIND
      value: "0.0.0.0:{{ .Values.master.service.grpcPort }}"
    - name: STAMPEDE_WEB_LISTEN
      value: "0.0.0.0:{{ .Values.master.service.httpPort }}"
    - name: STAMPEDE_WORK_DIR
      value: /work
    - name: STAMPEDE_LOG_LEVEL
      value: {{ .Values.logLevel | quote }}
    - name: STAMPEDE_USERS
      value: {{ .Values.run.users | int64 | quote }}
    - name: STAMPEDE_SPAWN_RATE
      value: {{ .Values.run.spawnRate | quote }}
    {{- with .Values.run.runTime }}
    - name: STAMPEDE_RUN_TIME
      value: {{ . | quote }}
    {{- end }}
    {{- with .Values.run.tags }}
    - name: STAMPEDE_TAGS
      value: {{ join "," . | quote }}
    {{- end }}
    {{- with .Values.run.excludeTags }}
    - name: STAMPEDE_EXCLUDE_TAGS
      value: {{ join "," . | quote }}
    {{- end }}
    {{- with .Values.run.classWeights }}
    - name: STAMPEDE_CLASS_WEIGHTS
      {{- $pairs := list }}
      {{- range $name, $weight := . }}
      {{- $pairs = append $pairs (printf "%s=%d" $name (int64 $weight)) }}
      {{- end }}
      value: {{ join "," $pairs | quote }}
    {{- end }}
    # A run waits for the workers it runs on: run.workers when the master scales up for each run.
    - name: STAMPEDE_EXPECT_WORKERS
      value: {{ ternary .Values.run.workers .Values.workers.replicas (gt (int .Values.run.workers) 0) | int64 | quote }}
    - name: STAMPEDE_EXPECT_WORKERS_TIMEOUT
      value: {{ .Values.run.expectWorkersTimeout | quote }}
    - name: STAMPEDE_MAX_NAMES
      value: {{ .Values.run.maxNames | int64 | quote }}
    # The embedded k6 may write under $HOME; the image's home is on the read-only root.
    - name: HOME
      value: /tmp
    {{- with include "stampede.masterKubeEnv" . | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    # Who may use the master (docs/security.md): the UI, API and /metrics need the web token, workers
    # the join token.
    {{- include "stampede.masterSecurityEnv" . | nindent 4 }}
    {{- with .Values.master.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: grpc
      containerPort: {{ .Values.master.service.grpcPort }}
      protocol: TCP
    - name: http
      containerPort: {{ .Values.master.service.httpPort }}
      protocol: TCP
  # The startup probe holds the others off while the master starts; liveness restarts a master whose
  # web server stopped answering; readiness takes it out of the Service until it serves (/readyz, as
  # /healthz, needs no token).
  startupProbe:
    httpGet:
      path: /healthz
      port: http
    periodSeconds: 2
    failureThreshold: 30
  livenessProbe:
    httpGet:
      path: /healthz
      port: http
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /readyz
      port: http
    periodSeconds: 5
    timeoutSeconds: 3
    failureThreshold: 3
  resources:
    {{- toYaml .Values.master.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: scripts
      mountPath: /scripts
      readOnly: true
    - name: work
      mountPath: /work
    - name: tmp
      mountPath: /tmp
    {{- if .Values.tls.enabled }}
    {{- include "stampede.tlsMount" . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* The master pod's volumes. */}}
{{- define "stampede.masterVolumes" -}}
- name: scripts
  configMap:
    name: {{ include "stampede.componentName" (dict "ctx" . "suffix" "scripts") }}
    items:
      - key: script
        path: {{ .Values.scriptName }}
      {{- range $path, $_ := .Values.extraFiles }}
      - key: {{ printf "file.%s" (include "stampede.fileKey" $path) }}
        path: {{ $path }}
      {{- end }}
- name: work
  emptyDir:
    sizeLimit: {{ .Values.scratchSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratchSizeLimit }}
{{- if .Values.tls.enabled }}
{{ include "stampede.tlsVolume" (include "stampede.tlsMasterSecret" .) }}
{{- end }}
{{- end }}

{{/*
The HPAs the master watches, comma-separated (empty: none by name): watchHPA.names, or, with neither
names nor a selector given, the demo target's HPA when the chart creates one in the watched namespace.
*/}}
{{- define "stampede.hpaNames" -}}
{{- $w := .Values.watchHPA }}
{{- if $w.names }}
{{- join "," $w.names }}
{{- else if and (not $w.selector) .Values.target.enabled .Values.target.autoscaling.enabled (eq (include "stampede.hpaNamespace" .) .Release.Namespace) }}
{{- include "stampede.targetName" . }}
{{- end }}
{{- end }}

{{/* The namespace of the watched HPAs: watchHPA.namespace, else the release's. */}}
{{- define "stampede.hpaNamespace" -}}
{{- default .Release.Namespace .Values.watchHPA.namespace }}
{{- end }}

{{/* "true" when the master watches HPAs (by name or selector), else empty. */}}
{{- define "stampede.hpaWatch" -}}
{{- if or (include "stampede.hpaNames" .) .Values.watchHPA.selector }}true{{ end }}
{{- end }}

{{/* "true" when the master's Role may read HPAs: it watches some, or rbac.watchHPA asks for it. */}}
{{- define "stampede.hpaRBAC" -}}
{{- if or (include "stampede.hpaWatch" .) .Values.rbac.watchHPA }}true{{ end }}
{{- end }}

{{/*
"true" when the master calls the API server (it scales the workers or reads HPAs): only then does
its pod mount a ServiceAccount token. "false" otherwise.
*/}}
{{- define "stampede.apiAccess" -}}
{{- if or .Values.workers.scaling.enabled (include "stampede.hpaRBAC" .) }}true{{ else }}false{{ end }}
{{- end }}

{{/*
The master's Kubernetes settings as environment variables (each is the STAMPEDE_<FLAG> of a
flag): the worker Deployment it scales and the HPAs it watches.
*/}}
{{- define "stampede.masterKubeEnv" -}}
{{- if .Values.workers.scaling.enabled }}
# Scale the worker Deployment (deployments/scale): to run.workers for each run (0: leave it), back
# to workers.replicas after it, never above workers.scaling.maxReplicas.
- name: STAMPEDE_KUBE_DEPLOYMENT
  value: {{ include "stampede.workerName" . | quote }}
- name: STAMPEDE_KUBE_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: STAMPEDE_KUBE_WORKERS
  value: {{ .Values.run.workers | int64 | quote }}
- name: STAMPEDE_KUBE_IDLE_WORKERS
  value: {{ .Values.workers.replicas | int64 | quote }}
- name: STAMPEDE_KUBE_MAX_WORKERS
  value: {{ .Values.workers.scaling.maxReplicas | int64 | quote }}
{{- end }}
{{- if include "stampede.hpaWatch" . }}
# Record what the system under test's HPAs do, in the run's time series.
{{- with include "stampede.hpaNames" . }}
- name: STAMPEDE_WATCH_HPA
  value: {{ . | quote }}
{{- end }}
{{- with .Values.watchHPA.selector }}
- name: STAMPEDE_WATCH_HPA_SELECTOR
  value: {{ . | quote }}
{{- end }}
- name: STAMPEDE_WATCH_HPA_NAMESPACE
{{- if .Values.watchHPA.namespace }}
  value: {{ .Values.watchHPA.namespace | quote }}
{{- else }}
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}
{{- end }}
{{- end }}

{{/*
Read access to HorizontalPodAutoscalers. list and watch cannot be restricted by name, so it covers
every HPA of the namespace, read-only.
*/}}
{{- define "stampede.hpaRule" -}}
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch]
{{- end }}

{{/* Pod settings shared by every component: pull secrets and the pod security context. */}}
{{- define "stampede.podCommon" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Checks that need more than the schema: a headless swarm run needs a run time, and two extra files
must not map to one ConfigMap key.
*/}}
{{- define "stampede.validate" -}}
{{- if and (eq .Values.mode "headless") (gt (int .Values.run.users) 0) (not .Values.run.runTime) (not .Values.headless.activeDeadlineSeconds) }}
{{- fail "mode=headless with run.users > 0 needs run.runTime (e.g. 5m) or headless.activeDeadlineSeconds: a swarm run without either never ends" }}
{{- end }}
{{- $keys := dict }}
{{- range $path, $_ := .Values.extraFiles }}
{{- $key := include "stampede.fileKey" $path }}
{{- if hasKey $keys $key }}
{{- fail (printf "extraFiles %q and %q map to the same ConfigMap key %q: rename one" (get $keys $key) $path $key) }}
{{- end }}
{{- $_ := set $keys $key $path }}
{{- end }}
{{- if and .Values.target.enabled .Values.target.autoscaling.enabled (gt (int .Values.target.autoscaling.minReplicas) (int .Values.target.autoscaling.maxReplicas)) }}
{{- fail (printf "target.autoscaling.minReplicas (%d) is above maxReplicas (%d)" (int .Values.target.autoscaling.minReplicas) (int .Values.target.autoscaling.maxReplicas)) }}
{{- end }}
{{- if and (gt (int .Values.run.workers) 0) (not .Values.workers.scaling.enabled) }}
{{- fail "run.workers > 0 needs workers.scaling.enabled: only a master allowed to scale the worker Deployment can change its size for a run" }}
{{- end }}
{{- if gt (int .Values.run.workers) (int .Values.workers.scaling.maxReplicas) }}
{{- fail (printf "run.workers (%d) is above workers.scaling.maxReplicas (%d)" (int .Values.run.workers) (int .Values.workers.scaling.maxReplicas)) }}
{{- end }}
{{- if and .Values.workers.scaling.enabled (gt (int .Values.workers.replicas) (int .Values.workers.scaling.maxReplicas)) }}
{{- fail (printf "workers.replicas (%d) is above workers.scaling.maxReplicas (%d)" (int .Values.workers.replicas) (int .Values.workers.scaling.maxReplicas)) }}
{{- end }}
{{- if hasKey .Values.extraFiles .Values.scriptName }}
{{- fail (printf "extraFiles has %q, the script's own name (scriptName): rename one" .Values.scriptName) }}
{{- end }}
{{- end }}

{{/* The Secret with the web token and the join token: auth.existingSecret, or the chart's. */}}
{{- define "stampede.authSecretName" -}}
{{- default (include "stampede.componentName" (dict "ctx" . "suffix" "auth")) .Values.auth.existingSecret }}
{{- end }}

{{/* The Secrets of the master's and the workers' certificates (cert-manager's layout). */}}
{{- define "stampede.tlsMasterSecret" -}}
{{- default (include "stampede.componentName" (dict "ctx" . "suffix" "master-tls")) .Values.tls.masterSecret }}
{{- end }}

{{- define "stampede.tlsWorkerSecret" -}}
{{- default (include "stampede.componentName" (dict "ctx" . "suffix" "worker-tls")) .Values.tls.workerSecret }}
{{- end }}

{{/* An env var from the auth Secret: (dict "ctx" $ "name" "STAMPEDE_JOIN_TOKEN" "key" "join-token"). */}}
{{- define "stampede.authEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "stampede.authSecretName" .ctx }}
      key: {{ .key }}
{{- end }}

{{/* The master's credentials and TLS: env from the auth Secret, certificate paths in the TLS mount. */}}
{{- define "stampede.masterSecurityEnv" -}}
{{ include "stampede.authEnv" (dict "ctx" . "name" "STAMPEDE_WEB_TOKEN" "key" .Values.auth.webTokenKey) }}
{{ include "stampede.authEnv" (dict "ctx" . "name" "STAMPEDE_JOIN_TOKEN" "key" .Values.auth.joinTokenKey) }}
{{- if .Values.tls.enabled }}
- name: STAMPEDE_TLS_CERT
  value: /etc/stampede/tls/tls.crt
- name: STAMPEDE_TLS_KEY
  value: /etc/stampede/tls/tls.key
{{- if .Values.tls.mutual }}
- name: STAMPEDE_TLS_CLIENT_CA
  value: /etc/stampede/tls/ca.crt
{{- end }}
{{- end }}
{{- end }}

{{/* A TLS Secret mounted read-only at /etc/stampede/tls: the volume (call with the Secret's name). */}}
{{- define "stampede.tlsVolume" -}}
- name: tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}

{{- define "stampede.tlsMount" -}}
- name: tls
  mountPath: /etc/stampede/tls
  readOnly: true
{{- end }}

{{/*
The helm test image: tests.image when its repository is set, else the master's image (repository,
tag or digest), which holds /usr/local/bin/stampede-probe, so `helm test` pulls nothing new.
*/}}
{{- define "stampede.testImage" -}}
{{- if .Values.tests.image.repository }}
{{- include "stampede.image" (dict "image" .Values.tests.image "ctx" .) }}
{{- else }}
{{- include "stampede.image" (dict "image" .Values.master.image "ctx" .) }}
{{- end }}
{{- end }}

{{/* The helm test containers' resources and security context. */}}
{{- define "stampede.testContainerSettings" -}}
resources:
  requests:
    cpu: 10m
    memory: 16Mi
  limits:
    memory: 64Mi
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end }}
