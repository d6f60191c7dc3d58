// Package kube is Stampede's only Kubernetes client code. It has two long-lived parts, each run with
// Run(ctx) until the context ends:
//
//   - Scaler keeps the worker Deployment's replica count at a desired value through the scale
//     subresource. It is level-based: every pass reads the actual scale, compares it with the desired
//     count and updates only on a difference, so a lost update, a conflicting writer or a restart
//     of the master all heal on the next pass. SetDesired and Status are safe for concurrent use.
//   - HPAWatcher watches HorizontalPodAutoscalers (autoscaling/v2) of the system under test with an
//     informer, and Sample returns what they are doing now. Extras turns samples into the keys the
//     master puts into a run's per-second series (stats.Point.Extra). Its methods are safe for concurrent
//     use.
//
// The master declares the interfaces it needs and never imports this package; cmd/master wires the
// two together.
//
// # Permissions
//
// The ServiceAccount the master runs as needs, in the namespace of the worker Deployment:
//
//	apiGroups: ["apps"]         resources: ["deployments/scale"]          verbs: ["get", "update"]
//	apiGroups: ["apps"]         resources: ["deployments"]                verbs: ["get"]
//
// and, in the namespace of the watched HPAs:
//
//	apiGroups: ["autoscaling"]  resources: ["horizontalpodautoscalers"]   verbs: ["list", "watch"]
//
// A request the API server refuses (Forbidden, Unauthorized) or that names nothing (NotFound) is
// reported with the verb, resource, name and namespace, matches ErrForbidden or ErrNotFound with
// errors.Is, and is retried only slowly: such errors do not heal by themselves.
package kube
