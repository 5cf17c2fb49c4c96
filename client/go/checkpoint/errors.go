package checkpoint

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors, one per gRPC status code the gateway answers with. Every error a
// Client method returns is an *Error, and errors.Is(err, ErrNotFound) (and so on) tells
// which kind it is:
//
//	ErrNotFound           NOT_FOUND           no such checkpoint or lineage
//	ErrInvalidArgument    INVALID_ARGUMENT    malformed or over a limit; nothing written
//	ErrConflict           ABORTED             compare-and-set lost, or an id reused
//	ErrResourceExhausted  RESOURCE_EXHAUSTED  message too large, or no capacity left
//	ErrUnavailable        UNAVAILABLE         gateway or backend unreachable; safe to retry
//	ErrDeadlineExceeded   DEADLINE_EXCEEDED   the call's deadline passed
//	ErrCanceled           CANCELLED           the caller's context was canceled
//	ErrUnauthenticated    UNAUTHENTICATED     the token is missing or wrong
//	ErrPermissionDenied   PERMISSION_DENIED   the caller may not do this
//	ErrInternal           INTERNAL and any other code: a defect, logged by the gateway
var (
	ErrNotFound          = errors.New("checkpoint: not found")
	ErrInvalidArgument   = errors.New("checkpoint: invalid argument")
	ErrConflict          = errors.New("checkpoint: conflict")
	ErrResourceExhausted = errors.New("checkpoint: resource exhausted")
	ErrUnavailable       = errors.New("checkpoint: unavailable")
	ErrDeadlineExceeded  = errors.New("checkpoint: deadline exceeded")
	ErrCanceled          = errors.New("checkpoint: canceled")
	ErrUnauthenticated   = errors.New("checkpoint: unauthenticated")
	ErrPermissionDenied  = errors.New("checkpoint: permission denied")
	ErrInternal          = errors.New("checkpoint: internal error")
)

var sentinels = map[codes.Code]error{
	codes.NotFound:          ErrNotFound,
	codes.InvalidArgument:   ErrInvalidArgument,
	codes.Aborted:           ErrConflict,
	codes.ResourceExhausted: ErrResourceExhausted,
	codes.Unavailable:       ErrUnavailable,
	codes.DeadlineExceeded:  ErrDeadlineExceeded,
	codes.Canceled:          ErrCanceled,
	codes.Unauthenticated:   ErrUnauthenticated,
	codes.PermissionDenied:  ErrPermissionDenied,
}

// Error is the error every Client method returns: the gRPC status code and the
// gateway's message (never a stack trace: the gateway logs the details of INTERNAL).
type Error struct {
	// Code is the gRPC status code, as the gateway sent it (or as the client decided,
	// for a request it could not encode, which is codes.InvalidArgument).
	Code codes.Code
	// Message is the gateway's message.
	Message string
	// cause is the caller's context error (context.Canceled or DeadlineExceeded) when
	// the call ended because of it, so errors.Is works with those as well.
	cause error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("checkpoint gateway: %s", e.Code)
	}
	return fmt.Sprintf("checkpoint gateway: %s: %s", e.Code, e.Message)
}

// Is reports whether target is the sentinel of e's code (ErrInternal for codes with
// no sentinel of their own).
func (e *Error) Is(target error) bool {
	return target == e.Sentinel()
}

// Unwrap returns the caller's context error when the call ended because of it.
func (e *Error) Unwrap() error { return e.cause }

// Sentinel returns the sentinel error of e's code.
func (e *Error) Sentinel() error {
	if s, ok := sentinels[e.Code]; ok {
		return s
	}
	return ErrInternal
}

// GRPCStatus lets status.FromError and status.Code read the code of an *Error.
func (e *Error) GRPCStatus() *status.Status {
	return status.New(e.Code, e.Message)
}

// newError is an *Error made by the client itself.
func newError(code codes.Code, format string, args ...interface{}) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// mapError turns what a gRPC call returned into an *Error. ctx is the call's context,
// whose own error (canceled, deadline passed) is kept as the cause.
func mapError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var mapped *Error
	if errors.As(err, &mapped) {
		return mapped
	}
	st, ok := status.FromError(err)
	if !ok {
		// Not a status: a failure before the call left (grpc wraps those as statuses, so
		// this is unexpected); report it without internals.
		return &Error{Code: codes.Internal, Message: "the call failed before it was sent", cause: err}
	}
	e := &Error{Code: st.Code(), Message: st.Message()}
	switch {
	case st.Code() == codes.Canceled && ctx.Err() == nil:
		// Not our cancellation: the gateway or a proxy went away, which is retryable.
		e.Code = codes.Unavailable
		e.Message = "the call was cancelled by the server: " + st.Message()
	case ctx.Err() != nil && (st.Code() == codes.Canceled || st.Code() == codes.DeadlineExceeded):
		e.cause = ctx.Err()
	}
	return e
}
