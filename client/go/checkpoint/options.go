package checkpoint

import (
	"crypto/tls"
	"crypto/x509"
	"io/ioutil"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
)

// DefaultTimeout is how long a call may take when its context has no deadline of its
// own: several times a healthy call's latency, yet short enough that an agent learns
// of an outage while it can act.
const DefaultTimeout = 10 * time.Second

// DefaultMaxMessageBytes is the largest message sent or received (as the Python client).
const DefaultMaxMessageBytes = 64 << 20

// DefaultServiceConfig is the gRPC service config a Client dials with, as the Python
// client's: retry UNAVAILABLE only (the gateway is draining or restarting, or its backend
// is down: nothing was done, or the call is idempotent by key), at most 4 attempts with
// randomized exponential backoff from 0.1 s to 1 s, all within the call's deadline, and
// a retry budget that stops retrying once most calls fail. Other codes are never
// retried. (grpc-go before 1.40, such as Debian's 1.33, applies it only with the
// environment variable GRPC_GO_RETRY=on.)
const DefaultServiceConfig = `{
  "methodConfig": [{
    "name": [{"service": "checkpoint_gateway.v1.CheckpointService"}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }],
  "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
}`

// Option configures a Client in New.
type Option func(*config) error

type config struct {
	tls         *tls.Config
	insecure    bool
	token       func() (string, error)
	metadata    []string
	timeout     time.Duration
	maxMessage  int
	dialOptions []grpc.DialOption
}

// WithTLS connects over TLS with the given configuration (nil: the system's roots).
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) error {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.tls = cfg
		return nil
	}
}

// WithTLSCAFile connects over TLS, trusting the CA certificates in a PEM file (such as
// a private CA that signed the gateway's certificate).
func WithTLSCAFile(caFile string) Option {
	return func(c *config) error {
		pem, err := ioutil.ReadFile(caFile)
		if err != nil {
			return newError(codes.InvalidArgument, "cannot read the CA file %q: %v", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return newError(codes.InvalidArgument, "no PEM certificate in the CA file %q", caFile)
		}
		c.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		return nil
	}
}

// WithInsecure connects in plaintext. It is the default when no TLS option is given;
// name it to say so, as grpc.WithInsecure does.
func WithInsecure() Option {
	return func(c *config) error {
		c.insecure = true
		return nil
	}
}

// WithToken sends "authorization: Bearer <token>" with every call.
func WithToken(token string) Option {
	return WithTokenSource(func() (string, error) { return token, nil })
}

// WithTokenSource sends "authorization: Bearer <token>" with every call, asking source
// for the token each time (so a token refreshed elsewhere, such as a short-lived JWT, is
// always the fresh one). An error from source fails the call as ErrUnauthenticated.
func WithTokenSource(source func() (string, error)) Option {
	return func(c *config) error {
		if source == nil {
			return newError(codes.InvalidArgument, "the token source is nil")
		}
		c.token = source
		return nil
	}
}

// WithMetadata sends these key/value pairs with every call, e.g.
// WithMetadata("x-team", "a"). Keys are lower-cased by gRPC.
func WithMetadata(kv ...string) Option {
	return func(c *config) error {
		if len(kv)%2 != 0 {
			return newError(codes.InvalidArgument, "metadata needs key/value pairs, got %d strings", len(kv))
		}
		c.metadata = append(c.metadata, kv...)
		return nil
	}
}

// WithDefaultTimeout is the deadline of a call whose context has none (DefaultTimeout
// unless given; 0 leaves such calls without a deadline). A context deadline always wins.
func WithDefaultTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return newError(codes.InvalidArgument, "the default timeout must not be negative, got %s", d)
		}
		c.timeout = d
		return nil
	}
}

// WithMaxMessageBytes is the largest message sent or received (DefaultMaxMessageBytes).
func WithMaxMessageBytes(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return newError(codes.InvalidArgument, "the message size limit must be positive, got %d", n)
		}
		c.maxMessage = n
		return nil
	}
}

// WithDialOptions adds gRPC dial options (interceptors, keepalive...), applied after
// the client's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) error {
		c.dialOptions = append(c.dialOptions, opts...)
		return nil
	}
}

func newConfig(opts []Option) (*config, error) {
	c := &config{timeout: DefaultTimeout, maxMessage: DefaultMaxMessageBytes}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if c.tls != nil && c.insecure {
		return nil, newError(codes.InvalidArgument, "both TLS and WithInsecure were given")
	}
	return c, nil
}

func (c *config) dial() []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithDefaultServiceConfig(DefaultServiceConfig),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(c.maxMessage), grpc.MaxCallSendMsgSize(c.maxMessage),
		),
	}
	if c.tls != nil {
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(c.tls)))
	} else {
		// grpc-go 1.33 (Debian's) has no credentials/insecure package.
		opts = append(opts, grpc.WithInsecure())
	}
	return append(opts, c.dialOptions...)
}
