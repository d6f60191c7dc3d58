package kube

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

var (
	// ErrForbidden means the API server refused a request: the credentials were rejected, or the
	// ServiceAccount lacks a permission (see the package doc for the Role it needs).
	ErrForbidden = errors.New("kube: forbidden")
	// ErrNotFound means the object a request named does not exist.
	ErrNotFound = errors.New("kube: not found")
)

// request names one API request for error messages: "update deployments/scale "w" in namespace "lt"".
type request struct {
	verb      string // get, update, list, watch
	group     string // API group: apps, autoscaling
	resource  string // deployments/scale, horizontalpodautoscalers
	name      string // empty for list and watch
	namespace string
}

func (r request) String() string {
	s := r.verb + " " + r.resource
	if r.name != "" {
		s += fmt.Sprintf(" %q", r.name)
	}
	return s + fmt.Sprintf(" in namespace %q", r.namespace)
}

// wrap says which request failed and, for errors retrying cannot fix, what to check. The
// API server's own error stays in the chain, so apierrors.IsConflict and the like still work.
func (r request) wrap(err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: %s: %w (is the ServiceAccount bound to a Role that allows %q on %q in API group %q in namespace %q?)",
			ErrForbidden, r, err, r.verb, r.resource, r.group, r.namespace)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%w: %s: %w (the API server rejected the credentials: check the ServiceAccount token or kubeconfig)",
			ErrForbidden, r, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: %s: %w (check the name and namespace the master was given)", ErrNotFound, r, err)
	}
	return fmt.Errorf("kube: %s: %w", r, err)
}

// permanent reports whether err will most likely recur on an immediate retry, so that retrying
// soon only loads the API server.
func permanent(err error) bool {
	return errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound) || apierrors.IsInvalid(err) ||
		apierrors.IsBadRequest(err) || apierrors.IsMethodNotSupported(err)
}

// retryWait is how long to wait after failures failed passes in a row, the last with err: it doubles
// from lo up to hi, and is hi at once for permanent errors.
func retryWait(err error, failures int, lo, hi time.Duration) time.Duration {
	if permanent(err) {
		return hi
	}
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
