//go:build linux

package kubetest_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// envOf is a container's env: values, "secret:NAME/KEY" for a secretKeyRef.
func envOf(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			out[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom == nil:
			out[e.Name] = e.Value
		}
	}
	return out
}

func mounts(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, m := range c.VolumeMounts {
		out[m.Name] = m.MountPath
	}
	return out
}

func secretVolumes(p *corev1.PodSpec) map[string]string {
	out := map[string]string{}
	for _, v := range p.Volumes {
		if v.Secret != nil {
			out[v.Name] = v.Secret.SecretName
		}
	}
	return out
}

// Which values give the master, the workers and the helm test pod which tokens, certificates and
// Secrets (helm template only: cert-manager's CRDs are not in the test cluster).
func TestChartSecurity(t *testing.T) {
	t.Parallel()
	h := offlineHelm(t)
	const tlsDir = "/etc/stampede/tls/"
	cases := []struct {
		name          string
		set           []string
		secret        string // the auth Secret the pods read; "" for none rendered by the chart
		rendersSecret bool
		master        map[string]string // env, "" for absent
		worker        map[string]string
		masterTLS     string // the Secret mounted at /etc/stampede/tls, "" for none
		workerTLS     string
		certificates  int
	}{
		{"defaults: generated tokens, no TLS", nil, "lt-stampede-auth", true,
			map[string]string{"STAMPEDE_TLS_CERT": "", "STAMPEDE_TLS_CLIENT_CA": ""},
			map[string]string{"STAMPEDE_TLS_CA": "", "STAMPEDE_TLS_CERT": ""}, "", "", 0},
		{"an existing Secret and its keys", []string{"auth.existingSecret=mine", "auth.webTokenKey=ui", "auth.joinTokenKey=workers"}, "mine", false,
			map[string]string{"STAMPEDE_WEB_TOKEN": "secret:mine/ui", "STAMPEDE_JOIN_TOKEN": "secret:mine/workers"},
			map[string]string{"STAMPEDE_JOIN_TOKEN": "secret:mine/workers"}, "", "", 0},
		{"mutual TLS from Secrets", []string{"tls.enabled=true"}, "lt-stampede-auth", true,
			map[string]string{"STAMPEDE_TLS_CERT": tlsDir + "tls.crt", "STAMPEDE_TLS_KEY": tlsDir + "tls.key", "STAMPEDE_TLS_CLIENT_CA": tlsDir + "ca.crt"},
			map[string]string{"STAMPEDE_TLS_CA": tlsDir + "ca.crt", "STAMPEDE_TLS_CERT": tlsDir + "tls.crt", "STAMPEDE_TLS_KEY": tlsDir + "tls.key", "STAMPEDE_TLS_SERVER_NAME": ""},
			"lt-stampede-master-tls", "lt-stampede-worker-tls", 0},
		{"server TLS only, named Secrets, a server name", []string{"tls.enabled=true", "tls.mutual=false", "tls.masterSecret=m-tls", "tls.workerSecret=w-tls", "tls.serverName=stampede.example"}, "lt-stampede-auth", true,
			map[string]string{"STAMPEDE_TLS_CERT": tlsDir + "tls.crt", "STAMPEDE_TLS_CLIENT_CA": ""},
			map[string]string{"STAMPEDE_TLS_CA": tlsDir + "ca.crt", "STAMPEDE_TLS_CERT": "", "STAMPEDE_TLS_SERVER_NAME": "stampede.example"},
			"m-tls", "w-tls", 0},
		{"cert-manager Certificates", []string{"tls.enabled=true", "tls.certManager.enabled=true", "tls.certManager.issuerRef.name=stampede-ca"}, "lt-stampede-auth", true,
			map[string]string{"STAMPEDE_TLS_CLIENT_CA": tlsDir + "ca.crt"}, map[string]string{"STAMPEDE_TLS_CERT": tlsDir + "tls.crt"},
			"lt-stampede-master-tls", "lt-stampede-worker-tls", 2},
		{"headless Job", []string{"mode=headless", "tls.enabled=true"}, "lt-stampede-auth", true,
			map[string]string{"STAMPEDE_TLS_CERT": tlsDir + "tls.crt"}, map[string]string{"STAMPEDE_TLS_CA": tlsDir + "ca.crt"},
			"lt-stampede-master-tls", "lt-stampede-worker-tls", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, h, c.set...)
			wantKeys := map[string]string{"STAMPEDE_WEB_TOKEN": "web-token", "STAMPEDE_JOIN_TOKEN": "join-token"}
			if c.secret == "mine" {
				wantKeys = map[string]string{"STAMPEDE_WEB_TOKEN": "ui", "STAMPEDE_JOIN_TOKEN": "workers"}
			}
			sec, ok := r.secrets[c.secret]
			switch {
			case ok != c.rendersSecret:
				t.Fatalf("Secret %s rendered: %v, want %v", c.secret, ok, c.rendersSecret)
			case ok:
				for _, key := range wantKeys {
					if v := sec.Data[key]; len(v) != 32 {
						t.Errorf("Secret %s key %s: %d bytes, want a 32-character token", c.secret, key, len(v))
					}
				}
				if len(sec.Data) != 2 || string(sec.Data[wantKeys["STAMPEDE_WEB_TOKEN"]]) == string(sec.Data[wantKeys["STAMPEDE_JOIN_TOKEN"]]) {
					t.Errorf("Secret %s: %d keys, want two different tokens", c.secret, len(sec.Data))
				}
			}

			master, worker := envOf(r.masterPod.Containers[0]), envOf(r.workerPod.Containers[0])
			for name, key := range wantKeys {
				if want := "secret:" + c.secret + "/" + key; master[name] != want {
					t.Errorf("master env %s = %q, want %q", name, master[name], want)
				}
			}
			if want := "secret:" + c.secret + "/" + wantKeys["STAMPEDE_JOIN_TOKEN"]; worker["STAMPEDE_JOIN_TOKEN"] != want {
				t.Errorf("worker env STAMPEDE_JOIN_TOKEN = %q, want %q", worker["STAMPEDE_JOIN_TOKEN"], want)
			}
			if _, ok := worker["STAMPEDE_WEB_TOKEN"]; ok {
				t.Error("the workers get the web token; they need only the join token")
			}
			for k, v := range c.master {
				if master[k] != v {
					t.Errorf("master env %s = %q, want %q", k, master[k], v)
				}
			}
			for k, v := range c.worker {
				if worker[k] != v {
					t.Errorf("worker env %s = %q, want %q", k, worker[k], v)
				}
			}
			for what, pod := range map[string]*corev1.PodSpec{"master": r.masterPod, "worker": r.workerPod} {
				want := map[string]string{"master": c.masterTLS, "worker": c.workerTLS}[what]
				if got := secretVolumes(pod)["tls"]; got != want {
					t.Errorf("%s pod: TLS volume from Secret %q, want %q", what, got, want)
				}
				m := mounts(pod.Containers[0])
				if got := m["tls"]; (want != "") != (got == "/etc/stampede/tls") {
					t.Errorf("%s container: TLS mount at %q, want one at /etc/stampede/tls: %v", what, got, want != "")
				}
			}

			if r.testPod != nil {
				te := envOf(r.testPod.Spec.Containers[0])
				if want := "secret:" + c.secret + "/" + wantKeys["STAMPEDE_WEB_TOKEN"]; te["WEB_TOKEN"] != want {
					t.Errorf("helm test pod env WEB_TOKEN = %q, want %q", te["WEB_TOKEN"], want)
				}
				if args := strings.Join(r.testPod.Spec.Containers[0].Args, " "); !strings.Contains(args, "--token-env WEB_TOKEN") {
					t.Errorf("helm test pod does not send the token: args %s", args)
				}
			} else if !strings.Contains(c.name, "headless") {
				t.Error("no helm test pod rendered")
			}

			certs := 0
			for _, doc := range r.custom {
				if !strings.Contains(doc, "kind: Certificate") {
					continue
				}
				certs++
				if !strings.Contains(doc, "name: stampede-ca") || !strings.Contains(doc, "secretName: lt-stampede-") {
					t.Errorf("Certificate without the issuer or the Secret:\n%s", doc)
				}
				if strings.Contains(doc, "server auth") && !strings.Contains(doc, "- lt-stampede.load.svc\n") {
					t.Errorf("the master's Certificate does not name the address workers dial:\n%s", doc)
				}
			}
			if certs != c.certificates {
				t.Errorf("%d Certificates, want %d", certs, c.certificates)
			}
		})
	}
}

// The master's /metrics needs the token: the ServiceMonitor reads it from the auth Secret.
func TestChartServiceMonitorUsesTheToken(t *testing.T) {
	t.Parallel()
	r := renderChart(t, offlineHelm(t), "serviceMonitor.enabled=true")
	var sm string
	for _, doc := range r.custom {
		if strings.Contains(doc, "kind: ServiceMonitor") {
			sm = doc
		}
	}
	for _, want := range []string{"type: Bearer", "name: lt-stampede-auth", "key: web-token"} {
		if !strings.Contains(sm, want) {
			t.Errorf("ServiceMonitor lacks %q:\n%s", want, sm)
		}
	}
}
