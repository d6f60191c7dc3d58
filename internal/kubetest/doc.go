//go:build linux

// Package kubetest starts a throwaway Kubernetes control plane for tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, from binaries built by .ci/k8s-tools.sh, in a
// temporary directory, on loopback ports. kwok plays the kubelet: it makes fake Nodes Ready and
// moves the pods scheduled on them through their phases without running any container. So a test
// sees real API semantics (validation, RBAC, the TokenRequest API, Deployment/ReplicaSet/Job/HPA
// controllers, the scheduler, garbage collection) but no process inside a pod ever runs.
//
// A test gets a cluster with Start, which skips when the tools are not configured (run through
// `make test`, which builds them) and fails instead when STAMPEDE_REQUIRE_K8S=1, so CI cannot pass
// by skipping:
//
//	cp := kubetest.Start(t, kubetest.Options{})
//	cp.Client.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{})
//	saCfg, err := cp.ServiceAccountConfig(ctx, "ns", "my-sa") // authenticates as the ServiceAccount
//
// Tests that share one control plane (it takes several seconds to start) call New from TestMain or
// a sync.Once and Stop when m.Run returns.
//
// What the cluster has: an admin identity (a static token in group system:masters) in
// ControlPlane.Config and ControlPlane.Kubeconfig; RBAC authorization; ServiceAccount tokens signed
// by the API server; the deployment, replicaset, horizontal-pod-autoscaler (1 s sync, no metrics
// API: only minReplicas/maxReplicas clamping changes replicas), job, garbage-collector, namespace,
// serviceaccount and root-ca-certificate-publisher controllers; kwok with its "fast" stages plus
// the ones in Stages (a pod with the helm.sh/hook=test annotation Succeeds as soon as it runs:
// `helm test` passes without its command ever being executed).
//
// With Options.RealNodes there is no kwok: real kubelets (internal/nodetest) register the Nodes,
// and the cluster is set up as they need it. The API server listens on Options.AdvertiseAddress and
// names it in the kubernetes Service's endpoints; a kubelet authenticates with a client certificate
// from ClientConfig ("system:node:NAME" in "system:nodes"), confined by the Node authorizer and
// NodeRestriction; the API server reaches kubelets with a client certificate in system:masters,
// at their InternalIP, and extension API servers (metrics-server) through the aggregator's
// front-proxy certificate; the node lifecycle, endpointslice, pod garbage collector and
// TTL-after-finished controllers run too. Options.Controllers, APIServerArgs and
// ControllerManagerArgs add more (the HPA's timing, for instance). StartProcess, WaitFor and
// FreePort are the harness's own process handling, for other harnesses built on this one.
//
// This is test support, like net/http/httptest: ToolsFromEnv and Start read the environment on
// purpose. A ControlPlane's methods are safe for concurrent use; Stop must be called once, after
// every other use.
package kubetest
