package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"testing"
	"time"

	pb "github.com/checkpoint-gateway/checkpoint-gateway/client/go/gen/checkpoint_gateway/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestEveryRPCHasAMethod(t *testing.T) {
	rpcs := reflect.TypeOf((*pb.CheckpointServiceClient)(nil)).Elem()
	client := reflect.TypeOf(&Client{})
	for i := 0; i < rpcs.NumMethod(); i++ {
		name := rpcs.Method(i).Name
		m, ok := client.MethodByName(name)
		if !ok {
			t.Errorf("Client has no method for the RPC %s", name)
			continue
		}
		if m.Type.NumIn() < 2 || m.Type.In(1) != reflect.TypeOf((*context.Context)(nil)).Elem() {
			t.Errorf("Client.%s does not take a context first", name)
		}
	}
	if rpcs.NumMethod() != 15 {
		t.Errorf("the service has %d RPCs; this test knew 15", rpcs.NumMethod())
	}
}

func TestMapErrorSentinels(t *testing.T) {
	tests := []struct {
		code codes.Code
		want error
	}{
		{codes.NotFound, ErrNotFound},
		{codes.InvalidArgument, ErrInvalidArgument},
		{codes.Aborted, ErrConflict},
		{codes.ResourceExhausted, ErrResourceExhausted},
		{codes.Unavailable, ErrUnavailable},
		{codes.DeadlineExceeded, ErrDeadlineExceeded},
		{codes.Unauthenticated, ErrUnauthenticated},
		{codes.PermissionDenied, ErrPermissionDenied},
		{codes.Internal, ErrInternal},
		{codes.Unknown, ErrInternal},
		{codes.DataLoss, ErrInternal},
		// A cancellation that is not the caller's: the server went away; retryable.
		{codes.Canceled, ErrUnavailable},
	}
	all := []error{ErrNotFound, ErrInvalidArgument, ErrConflict, ErrResourceExhausted, ErrUnavailable,
		ErrDeadlineExceeded, ErrCanceled, ErrUnauthenticated, ErrPermissionDenied, ErrInternal}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			err := mapError(context.Background(), status.Error(tt.code, "the message"))
			for _, sentinel := range all {
				if got := errors.Is(err, sentinel); got != (sentinel == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %t", err, sentinel, got)
				}
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *Error", err)
			}
			if !regexp.MustCompile(`the message$`).MatchString(e.Error()) {
				t.Errorf("Error() = %q, want the gateway's message", e.Error())
			}
			if got := status.Code(err); got != e.Code {
				t.Errorf("status.Code = %v, want %v", got, e.Code)
			}
		})
	}
}

func TestMapErrorKeepsTheCallersContextError(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	tests := []struct {
		name     string
		ctx      context.Context
		code     codes.Code
		sentinel error
		cause    error
	}{
		{"canceled", canceled, codes.Canceled, ErrCanceled, context.Canceled},
		{"deadline", expired, codes.DeadlineExceeded, ErrDeadlineExceeded, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mapError(tt.ctx, status.Error(tt.code, ""))
			if !errors.Is(err, tt.sentinel) || !errors.Is(err, tt.cause) {
				t.Errorf("%v: want errors.Is %v and %v", err, tt.sentinel, tt.cause)
			}
		})
	}
}

func TestOptionsRefuseNonsense(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"odd metadata", []Option{WithMetadata("x-team")}},
		{"negative timeout", []Option{WithDefaultTimeout(-time.Second)}},
		{"zero message size", []Option{WithMaxMessageBytes(0)}},
		{"missing CA file", []Option{WithTLSCAFile("/nonexistent/ca.pem")}},
		{"TLS and insecure", []Option{WithTLS(nil), WithInsecure()}},
		{"nil token source", []Option{WithTokenSource(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New("127.0.0.1:1", tt.opts...)
			if c != nil || !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("New = %v, %v; want ErrInvalidArgument", c, err)
			}
		})
	}
	if _, err := New(""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("New(\"\") = %v; want ErrInvalidArgument", err)
	}
}

func TestRequestsThatCannotBeEncodedFailBeforeTheCall(t *testing.T) {
	// Nothing listens on port 1: a request that reached the wire would be Unavailable.
	c, err := New("127.0.0.1:1", WithDefaultTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"metadata", func() error {
			_, err := c.Save(ctx, Checkpoint{ExecutionID: "e", Metadata: map[string]interface{}{"f": func() {}}})
			return err
		}},
		{"filter", func() error {
			_, err := c.List(ctx, "e", ListOptions{MetadataFilter: map[string]interface{}{"c": make(chan int)}})
			return err
		}},
		{"page size", func() error { _, err := c.Search(ctx, SearchOptions{PageSize: -1}); return err }},
		{"empty DeleteWhere filter", func() error { _, err := c.DeleteWhere(ctx, nil, ""); return err }},
		{"prune strategy", func() error { _, err := c.Prune(ctx, []string{"e"}, PruneStrategy(9)); return err }},
		{"nil context", func() error {
			var nilCtx context.Context
			_, err := c.Latest(nilCtx, "e", "")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("got %v; want ErrInvalidArgument", err)
			}
		})
	}
}

func TestAClosedClientRefusesCalls(t *testing.T) {
	c, err := New("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("a second Close: %v; want nil", err)
	}
	if _, err := c.Latest(context.Background(), "e", ""); !errors.Is(err, ErrCanceled) {
		t.Errorf("a call after Close: %v; want ErrCanceled", err)
	}
}

func TestNewCheckpointIDIsAnOrderedUUIDv7(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = NewCheckpointID()
		if !shape.MatchString(ids[i]) {
			t.Fatalf("%q is not a UUIDv7", ids[i])
		}
	}
	if !sort.StringsAreSorted(ids) {
		t.Error("ids made one after another do not sort in that order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

func ExampleError() {
	err := error(&Error{Code: codes.Aborted, Message: "expected version 3, latest is 4"})
	fmt.Println(errors.Is(err, ErrConflict), err)
	// Output: true checkpoint gateway: Aborted: expected version 3, latest is 4
}
