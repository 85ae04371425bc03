// Package testcert makes the certificates of rtlab's wss:// runs at run
// time: a certificate authority and one server certificate it signed, both
// ECDSA P-256 keys made with crypto/ecdsa and certificates made with
// crypto/x509, and the TLS 1.3 configurations of a server that presents
// the certificate and of a client that verifies it against that authority
// alone (RootCAs), as a client of a real server would.
//
// The private keys live in memory for the life of the Authority: no
// function writes them to disk, and an Authority prints (fmt, any verb)
// and marshals (encoding/json) without them. The one way out is
// LeafPEM, for a server in another runtime (Node) that must be handed its
// key; the caller passes it in memory (an environment variable, a pipe),
// never in a file. CAPEM is public and safe to pass anywhere.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Hosts are the names the server certificate is valid for: the loopback
// addresses rtlab's servers listen on, and localhost.
var Hosts = []string{"127.0.0.1", "::1", "localhost"}

// Validity is how long certificates made by New stay valid (they are
// backdated by an hour, for clocks a little apart).
const Validity = 7 * 24 * time.Hour

// Authority is a certificate authority made by New and the server
// certificate it signed for Hosts.
type Authority struct {
	caPEM []byte
	roots *x509.CertPool
	leaf  tls.Certificate // leaf.Leaf is the parsed certificate
}

// New makes a new authority and server certificate, with fresh keys.
func New() (*Authority, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcert: CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"rtlab"}, CommonName: "rtlab test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("testcert: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("testcert: CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcert: server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"rtlab"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("testcert: server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testcert: server certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &Authority{
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		roots: roots,
		leaf:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
	}, nil
}

// serial is a random 128-bit certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail (Go 1.24+)
	}
	return n
}

// CAPEM is the authority's certificate, PEM-encoded: public, what a
// client needs to verify the server (ClientConfig).
func (a *Authority) CAPEM() []byte { return append([]byte(nil), a.caPEM...) }

// ServerConfig is a TLS 1.3-only server configuration presenting the
// server certificate. Each call returns a new *tls.Config.
func (a *Authority) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{a.leaf}}
}

// ClientConfig is a TLS 1.3-only client configuration that trusts this
// authority alone. Each call returns a new *tls.Config.
func (a *Authority) ClientConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: a.roots}
}

// Certificate is the server certificate and its key, for a Go server that
// builds its own configuration (nbio's TLS).
func (a *Authority) Certificate() tls.Certificate { return a.leaf }

// LeafPEM returns the server certificate and its private key (PKCS #8),
// PEM-encoded, for a server outside Go that must be handed them. Keep
// both in memory: pass them over a pipe or an environment variable, never
// a file.
func (a *Authority) LeafPEM() (certPEM, keyPEM []byte, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(a.leaf.PrivateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("testcert: server key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.leaf.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// String describes the authority without any key: the names its server
// certificate holds and when it expires.
func (a Authority) String() string {
	return fmt.Sprintf("testcert: ECDSA P-256 CA %q, server certificate for %v until %s",
		a.leaf.Leaf.Issuer.CommonName, Hosts, a.leaf.Leaf.NotAfter.UTC().Format(time.RFC3339))
}

// Format prints String for every verb (%v, %+v, %#v, %s...), so that no
// verb can print the fields that hold the keys.
func (a Authority) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, a.String()) }

// MarshalJSON marshals the public part only: the CA certificate.
func (a Authority) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct{ CAPEM string }{string(a.caPEM)})
}

// ClientConfig is a TLS 1.3-only client configuration that trusts only the
// certificates in caPEM (PEM, as CAPEM returns). It is an error if caPEM
// holds no certificate.
func ClientConfig(caPEM []byte) (*tls.Config, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("testcert: the CA PEM holds no certificate")
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots}, nil
}
