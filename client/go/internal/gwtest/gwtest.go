// Package gwtest connects tests to the real gateway that tests/sdk/test_go.py starts,
// as its environment names it. Without CHECKPOINT_GATEWAY_TARGET the end-to-end tests
// skip (the pytest module fails when any of them skipped).
package gwtest

import (
	"os"
	"testing"

	"github.com/checkpoint-gateway/checkpoint-gateway/client/go/checkpoint"
)

// Env is what the pytest harness says about its gateways.
type Env struct {
	Target    string // plaintext gateway, requires Token
	Token     string
	Backend   string
	TLSTarget string // TLS gateway on the same backend ("" when not started)
	TLSCA     string // PEM path of the CA that signed the TLS gateway's certificate
}

// Gateway is the environment's gateway, or skips the test when there is none.
func Gateway(t testing.TB) Env {
	t.Helper()
	env := Env{
		Target:    os.Getenv("CHECKPOINT_GATEWAY_TARGET"),
		Token:     os.Getenv("CHECKPOINT_GATEWAY_TOKEN"),
		Backend:   os.Getenv("CHECKPOINT_GATEWAY_BACKEND"),
		TLSTarget: os.Getenv("CHECKPOINT_GATEWAY_TLS_TARGET"),
		TLSCA:     os.Getenv("CHECKPOINT_GATEWAY_TLS_CA"),
	}
	if env.Target == "" {
		t.Skip("CHECKPOINT_GATEWAY_TARGET is not set: run through tests/sdk/test_go.py")
	}
	return env
}

// Client is a client of the environment's plaintext gateway with its token, closed
// when the test ends.
func Client(t testing.TB, opts ...checkpoint.Option) *checkpoint.Client {
	t.Helper()
	env := Gateway(t)
	c, err := checkpoint.New(env.Target, append([]checkpoint.Option{checkpoint.WithToken(env.Token)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ExecutionID is a fresh execution id, so tests sharing a gateway never meet.
func ExecutionID(prefix string) string {
	return prefix + "-" + checkpoint.NewCheckpointID()
}
