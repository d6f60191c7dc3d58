//go:build linux

package kubetest

// DefaultStages are the kwok Stages the harness adds to kwok's fast ones.
//
// helm-test-succeeded: kwok runs no container, so a `helm test` pod would stay Running forever. A
// Running pod annotated helm.sh/hook=test moves to Succeeded with exit code 0 at once: `helm test`
// then checks that the hook exists, is created and scheduled, and reaches a phase, but the test's
// own command (the chart's stampede-probe against the master) is never executed.
const DefaultStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: helm-test-succeeded
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.metadata.annotations["helm.sh/hook"]'
      operator: 'In'
      values:
      - 'test'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: PodCompleted
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
        reason: PodCompleted
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Succeeded
`
