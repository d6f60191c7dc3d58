//go:build linux

package kubetest

import (
	"context"
	"fmt"
	"os"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ServiceAccountConfig mints a token for the ServiceAccount namespace/name with the TokenRequest
// API (valid for an hour, for the API server's audience) and returns a client configuration that
// authenticates with it, and nothing else: what a pod running as that ServiceAccount would have.
func (cp *ControlPlane) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, error) {
	ttl := int64(3600)
	tr, err := cp.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &ttl},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	cfg := rest.AnonymousClientConfig(cp.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg, nil
}

// ServiceAccountKubeconfig is ServiceAccountConfig written as a kubeconfig file at path, with
// namespace as its context's namespace.
func (cp *ControlPlane) ServiceAccountKubeconfig(ctx context.Context, namespace, name, path string) error {
	cfg, err := cp.ServiceAccountConfig(ctx, namespace, name)
	if err != nil {
		return err
	}
	return WriteKubeconfig(path, cfg, namespace)
}

// ClientConfig issues a client certificate for user in groups, signed by the CA in ClientCAFile, and
// returns a configuration that authenticates with it and nothing else: a kubelet's identity is
// ClientConfig("system:node:NAME", "system:nodes").
func (cp *ControlPlane) ClientConfig(user string, groups ...string) (*rest.Config, error) {
	c, err := cp.pki.ClientCA.signClient(user, groups)
	if err != nil {
		return nil, fmt.Errorf("kubetest: client certificate for %s: %w", user, err)
	}
	key, err := c.keyPEM()
	if err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(cp.Config)
	cfg.CertData, cfg.KeyData = c.certPEM(), key
	return cfg, nil
}

// WriteKubeconfig writes cfg (server, CA, bearer token or client certificate) as a kubeconfig with
// one context, whose namespace is namespace (empty: default).
func WriteKubeconfig(path string, cfg *rest.Config, namespace string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["kubetest"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken,
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "kubetest", Namespace: namespace}
	kc.CurrentContext = "kubetest"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
