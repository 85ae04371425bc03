package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newAuthority(t *testing.T) *Authority {
	t.Helper()
	a, err := New()
	require.NoError(t, err)
	return a
}

func TestCertificates(t *testing.T) {
	a := newAuthority(t)
	blk, rest := pem.Decode(a.CAPEM())
	require.NotNil(t, blk)
	require.Empty(t, rest)
	require.Equal(t, "CERTIFICATE", blk.Type)
	ca, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	require.True(t, ca.IsCA)

	leaf := a.Certificate().Leaf
	for _, c := range []*x509.Certificate{ca, leaf} {
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		require.True(t, ok, "%s: key %T, want ECDSA", c.Subject, c.PublicKey)
		require.Equal(t, elliptic.P256(), pub.Curve, "%s", c.Subject)
		require.Equal(t, x509.ECDSAWithSHA256, c.SignatureAlgorithm, "%s", c.Subject)
	}
	require.False(t, leaf.IsCA)
	require.NoError(t, leaf.CheckSignatureFrom(ca))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, h := range Hosts {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots})
		require.NoError(t, err, "host %s", h)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: roots})
	require.Error(t, err, "a name the certificate does not hold")
}

// handshake runs a TLS handshake between server and client configurations
// over a loopback connection and returns the client's error and state.
func handshake(t *testing.T, srv, cli *tls.Config, serverName string) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		tc := tls.Server(nc, srv)
		if tc.Handshake() == nil {
			_, _ = tc.Read(make([]byte, 1)) // until the client closes
		}
	}()
	defer func() { <-done }()
	cli = cli.Clone()
	cli.ServerName = serverName
	tc, err := tls.Dial("tcp", ln.Addr().String(), cli)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer tc.Close()
	return tc.ConnectionState(), nil
}

func TestHandshake(t *testing.T) {
	a := newAuthority(t)
	for _, h := range Hosts {
		st, err := handshake(t, a.ServerConfig(), a.ClientConfig(), h)
		require.NoError(t, err, "server name %s", h)
		require.Equal(t, uint16(tls.VersionTLS13), st.Version)
		require.NotEmpty(t, st.VerifiedChains)
	}
	fromPEM, err := ClientConfig(a.CAPEM())
	require.NoError(t, err)
	_, err = handshake(t, a.ServerConfig(), fromPEM, "127.0.0.1")
	require.NoError(t, err, "client configured from the CA PEM")
}

func TestHandshakeRefused(t *testing.T) {
	a, b := newAuthority(t), newAuthority(t)
	_, err := handshake(t, a.ServerConfig(), b.ClientConfig(), "127.0.0.1")
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown, "a client trusting another authority")

	tls12 := a.ClientConfig()
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	_, err = handshake(t, a.ServerConfig(), tls12, "127.0.0.1")
	require.ErrorContains(t, err, "protocol version", "the server speaks TLS 1.3 only")
}

func TestClientConfigBadPEM(t *testing.T) {
	_, err := ClientConfig([]byte("not a certificate"))
	require.ErrorContains(t, err, "testcert: the CA PEM holds no certificate")
	_, err = ClientConfig(nil)
	require.Error(t, err)
}

// TestNoKeyPrinted: printing or marshalling an Authority shows no private
// key, in PEM or as the key's scalar; CAPEM holds none; LeafPEM is the one
// way out.
func TestNoKeyPrinted(t *testing.T) {
	a := newAuthority(t)
	key := a.Certificate().PrivateKey.(*ecdsa.PrivateKey)
	d, err := key.Bytes()
	require.NoError(t, err)
	j, err := json.Marshal(a)
	require.NoError(t, err)
	_, keyPEM, err := a.LeafPEM()
	require.NoError(t, err)
	keyB64 := strings.Join(strings.Split(string(keyPEM), "\n")[1:2], "")
	outs := map[string]string{"json": string(j), "CAPEM": string(a.CAPEM())}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs[verb] = fmt.Sprintf(verb, a)
		outs[verb+" of a value"] = fmt.Sprintf(verb, *a)
	}
	for name, s := range outs {
		require.NotContains(t, s, "PRIVATE", name)
		require.NotContains(t, s, hex.EncodeToString(d), name)
		require.NotContains(t, s, new(big.Int).SetBytes(d).String(), name)
		require.NotContains(t, s, keyB64, name)
	}
	require.Contains(t, outs["%v"], "127.0.0.1")
	require.Contains(t, string(keyPEM), "PRIVATE KEY")
	parsed, err := tls.X509KeyPair(func() []byte { c, _, _ := a.LeafPEM(); return c }(), keyPEM)
	require.NoError(t, err, "LeafPEM's certificate and key go together")
	require.True(t, key.Equal(parsed.PrivateKey))
}
