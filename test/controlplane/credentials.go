package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// credentials are the files through which kube-apiserver serves TLS, signs
// service-account tokens and recognises the admin.
type credentials struct {
	certPEM    []byte // self-signed serving certificate, also the CA clients trust
	certFile   string
	keyFile    string
	saKeyFile  string // RSA key that signs and verifies service-account tokens
	tokenFile  string // static token file holding the admin identity
	adminToken string
	kubeconfig string
}

// adminUser is the static identity in the token file; system:masters
// bypasses RBAC.
const adminUser = "clusterdns-e2e-admin"

// writeCredentials generates fresh keys and writes them under dir.
func writeCredentials(dir string) (*credentials, error) {
	c := &credentials{
		certFile:   filepath.Join(dir, "apiserver.crt"),
		keyFile:    filepath.Join(dir, "apiserver.key"),
		saKeyFile:  filepath.Join(dir, "service-account.key"),
		tokenFile:  filepath.Join(dir, "tokens.csv"),
		kubeconfig: filepath.Join(dir, "kubeconfig"),
	}
	certPEM, keyPEM, err := selfSignedServingCert()
	if err != nil {
		return nil, err
	}
	c.certPEM = certPEM
	saKeyPEM, err := rsaKeyPEM()
	if err != nil {
		return nil, err
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("generate admin token: %w", err)
	}
	c.adminToken = hex.EncodeToString(token)
	tokens := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n", c.adminToken, adminUser, adminUser)

	for path, data := range map[string][]byte{
		c.certFile:  certPEM,
		c.keyFile:   keyPEM,
		c.saKeyFile: saKeyPEM,
		c.tokenFile: []byte(tokens),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return c, nil
}

// writeKubeconfig writes a kubeconfig for the admin identity that verifies
// the apiserver at server against its self-signed certificate.
func (c *credentials) writeKubeconfig(server string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: c.certPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.adminToken}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "admin"}
	cfg.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*cfg, c.kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// selfSignedServingCert returns a PEM certificate and key valid for the
// loopback addresses, self-signed so it is its own trust anchor.
func selfSignedServingCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate serving key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "clusterdns-e2e-apiserver"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal serving key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// rsaKeyPEM returns a new RSA private key in PKCS#1 PEM form.
func rsaKeyPEM() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate service-account key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), nil
}
