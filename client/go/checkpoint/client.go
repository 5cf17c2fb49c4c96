// Package checkpoint is a client of checkpoint-gateway, the service that stores
// agent-graph checkpoints for agents in any language.
//
// Every RPC of the gateway's CheckpointService has a method here. Every method takes
// a context first: its deadline (or the client's default timeout) bounds the call, and
// canceling it cancels the call. Errors are *Error values that errors.Is matches
// against the sentinels (ErrNotFound, ErrConflict, ...).
//
//	c, err := checkpoint.New("127.0.0.1:50051", checkpoint.WithToken(token))
//	if err != nil { ... }
//	defer c.Close()
//	saved, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: "run-1", State: state})
package checkpoint

import (
	"context"
	"sync/atomic"

	pb "github.com/checkpoint-gateway/checkpoint-gateway/client/go/gen/checkpoint_gateway/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// Client talks to one checkpoint-gateway. It is safe for concurrent use; make one per
// gateway and Close it when done.
type Client struct {
	conn   *grpc.ClientConn
	stub   pb.CheckpointServiceClient
	cfg    *config
	closed int32 // atomic: 1 once Close was called
}

// New connects to a gateway at target ("host:port", or any gRPC target such as
// "dns:///gateway:50051"). It does not wait for the connection: the first call does.
func New(target string, opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if target == "" {
		return nil, newError(codes.InvalidArgument, "the target is empty")
	}
	conn, err := grpc.Dial(target, cfg.dial()...)
	if err != nil {
		return nil, newError(codes.InvalidArgument, "cannot dial %q: %v", target, err)
	}
	return &Client{conn: conn, stub: pb.NewCheckpointServiceClient(conn), cfg: cfg}, nil
}

// Close closes the connection; calls in flight and later calls fail with ErrCanceled.
// Closing a closed client does nothing.
func (c *Client) Close() error {
	if !atomic.CompareAndSwapInt32(&c.closed, 0, 1) {
		return nil
	}
	if err := c.conn.Close(); err != nil {
		return newError(codes.Canceled, "%v", err)
	}
	return nil
}

// call runs one RPC with the client's deadline and metadata, and maps its error.
func call[Req, Resp any](
	ctx context.Context, c *Client, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req,
) (Resp, error) {
	var zero Resp
	if ctx == nil {
		return zero, newError(codes.InvalidArgument, "the context is nil")
	}
	if atomic.LoadInt32(&c.closed) == 1 {
		return zero, newError(codes.Canceled, "the client is closed")
	}
	if _, has := ctx.Deadline(); !has && c.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.timeout)
		defer cancel()
	}
	kv := c.cfg.metadata
	if c.cfg.token != nil {
		token, err := c.cfg.token()
		if err != nil {
			return zero, newError(codes.Unauthenticated, "the token source failed: %v", err)
		}
		kv = append(kv[:len(kv):len(kv)], "authorization", "Bearer "+token)
	}
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	resp, err := rpc(ctx, req)
	if err != nil {
		return zero, mapError(ctx, err)
	}
	return resp, nil
}

// SaveOption adjusts one Save.
type SaveOption func(*pb.SaveRequest)

// ExpectVersion makes a Save a compare-and-set: it succeeds only if the lineage's
// latest version is v (0: the lineage must be empty); otherwise ErrConflict and nothing
// is written.
func ExpectVersion(v int64) SaveOption {
	return func(r *pb.SaveRequest) { r.ExpectedVersion = &v }
}

// Save stores a new checkpoint and returns it as stored: with its CheckpointID (a new
// UUIDv7 when cp had none), Version and CreatedAt, and without pending writes. Saving
// the same id again with the same content returns the stored version; with other
// content it is ErrConflict.
func (c *Client) Save(ctx context.Context, cp Checkpoint, opts ...SaveOption) (Checkpoint, error) {
	if cp.CheckpointID == "" {
		cp.CheckpointID = NewCheckpointID()
	}
	m, err := checkpointToPB(cp)
	if err != nil {
		return Checkpoint{}, err
	}
	req := &pb.SaveRequest{Checkpoint: m}
	for _, opt := range opts {
		if opt != nil {
			opt(req)
		}
	}
	resp, err := call(ctx, c, c.stub.Save, req)
	if err != nil {
		return Checkpoint{}, err
	}
	return saved(cp, resp), nil
}

// saved is cp as the gateway stored it, from its answer to the save.
func saved(cp Checkpoint, resp *pb.SaveResponse) Checkpoint {
	cp.CheckpointID = resp.GetCheckpointId()
	cp.Version = resp.GetVersion()
	cp.CreatedAt = timeFromPB(resp.GetCreatedAt())
	cp.PendingWrites = nil
	// As every store answers a save: channels as references (Load has the values).
	if len(cp.Channels) > 0 {
		refs := make(map[string]Channel, len(cp.Channels))
		for name, ch := range cp.Channels {
			ch.Value = nil
			refs[name] = ch
		}
		cp.Channels = refs
	}
	return cp
}

// SaveMany stores several checkpoints in one call, in order, each on its own: every
// item gets its SaveResult, so one conflict does not fail the rest. The call as a whole
// fails only when the gateway refuses it (too many items) or cannot be reached.
func (c *Client) SaveMany(ctx context.Context, items []SaveItem) ([]SaveResult, error) {
	if len(items) == 0 {
		return nil, nil
	}
	cps := make([]Checkpoint, len(items))
	req := &pb.SaveManyRequest{}
	for i, item := range items {
		cp := item.Checkpoint
		if cp.CheckpointID == "" {
			cp.CheckpointID = NewCheckpointID()
		}
		m, err := checkpointToPB(cp)
		if err != nil {
			return nil, err
		}
		cps[i] = cp
		req.Saves = append(req.Saves, &pb.SaveRequest{Checkpoint: m, ExpectedVersion: item.ExpectedVersion})
	}
	resp, err := call(ctx, c, c.stub.SaveMany, req)
	if err != nil {
		return nil, err
	}
	if len(resp.GetResults()) != len(items) {
		return nil, newError(codes.Internal, "the gateway answered %d results for %d saves",
			len(resp.GetResults()), len(items))
	}
	out := make([]SaveResult, len(items))
	for i, r := range resp.GetResults() {
		if s := r.GetSaved(); s != nil {
			out[i] = SaveResult{Checkpoint: saved(cps[i], s)}
			continue
		}
		e := r.GetError()
		out[i] = SaveResult{Err: &Error{Code: codes.Code(e.GetCode()), Message: e.GetMessage()}}
	}
	return out, nil
}

// Load returns one checkpoint with its pending writes, or ErrNotFound.
func (c *Client) Load(ctx context.Context, executionID, namespace, checkpointID string) (Checkpoint, error) {
	resp, err := call(ctx, c, c.stub.Load, &pb.LoadRequest{
		ExecutionId: executionID, Namespace: namespace, CheckpointId: checkpointID,
	})
	if err != nil {
		return Checkpoint{}, err
	}
	return checkpointFromPB(resp.GetCheckpoint())
}

// Latest returns the newest checkpoint (the highest version) of a lineage with its
// pending writes, or ErrNotFound when the lineage is empty.
func (c *Client) Latest(ctx context.Context, executionID, namespace string) (Checkpoint, error) {
	resp, err := call(ctx, c, c.stub.Latest, &pb.LatestRequest{ExecutionId: executionID, Namespace: namespace})
	if err != nil {
		return Checkpoint{}, err
	}
	return checkpointFromPB(resp.GetCheckpoint())
}

// List returns one page of an execution's checkpoints, newest first.
func (c *Client) List(ctx context.Context, executionID string, opts ListOptions) (Page, error) {
	size, err := pageSize(opts.PageSize)
	if err != nil {
		return Page{}, err
	}
	filter, err := jsonObject(opts.MetadataFilter, "the metadata filter")
	if err != nil {
		return Page{}, err
	}
	resp, err := call(ctx, c, c.stub.List, &pb.ListRequest{
		ExecutionId: executionID, Namespace: opts.Namespace, PageSize: size,
		PageToken: opts.PageToken, Before: opts.Before, MetadataFilter: filter,
		AllNamespaces: opts.AllNamespaces, IncludeWrites: opts.IncludeWrites,
	})
	if err != nil {
		return Page{}, err
	}
	return pageFromPB(resp.GetCheckpoints(), resp.GetNextPageToken())
}

// Search returns one page of checkpoints across every execution and namespace, newest
// first, whose metadata matches the filter (none: every checkpoint).
func (c *Client) Search(ctx context.Context, opts SearchOptions) (Page, error) {
	size, err := pageSize(opts.PageSize)
	if err != nil {
		return Page{}, err
	}
	filter, err := jsonObject(opts.MetadataFilter, "the metadata filter")
	if err != nil {
		return Page{}, err
	}
	resp, err := call(ctx, c, c.stub.Search, &pb.SearchRequest{
		MetadataFilter: filter, PageSize: size, PageToken: opts.PageToken, IncludeWrites: opts.IncludeWrites,
	})
	if err != nil {
		return Page{}, err
	}
	return pageFromPB(resp.GetCheckpoints(), resp.GetNextPageToken())
}

func pageFromPB(ms []*pb.Checkpoint, next string) (Page, error) {
	cps, err := checkpointsFromPB(ms)
	if err != nil {
		return Page{}, err
	}
	return Page{Checkpoints: cps, NextPageToken: next}, nil
}

// ListNamespaces returns one page of the namespaces of an execution that hold
// checkpoints, in code point order ("" first).
func (c *Client) ListNamespaces(ctx context.Context, executionID string, opts PageOptions) (NamespacePage, error) {
	size, err := pageSize(opts.PageSize)
	if err != nil {
		return NamespacePage{}, err
	}
	resp, err := call(ctx, c, c.stub.ListNamespaces, &pb.ListNamespacesRequest{
		ExecutionId: executionID, PageSize: size, PageToken: opts.PageToken,
	})
	if err != nil {
		return NamespacePage{}, err
	}
	return NamespacePage{Namespaces: resp.GetNamespaces(), NextPageToken: resp.GetNextPageToken()}, nil
}

// ListExecutions returns one page of the executions that hold checkpoints, the most
// recently saved to first.
func (c *Client) ListExecutions(ctx context.Context, opts PageOptions) (ExecutionPage, error) {
	size, err := pageSize(opts.PageSize)
	if err != nil {
		return ExecutionPage{}, err
	}
	resp, err := call(ctx, c, c.stub.ListExecutions, &pb.ListExecutionsRequest{PageSize: size, PageToken: opts.PageToken})
	if err != nil {
		return ExecutionPage{}, err
	}
	page := ExecutionPage{NextPageToken: resp.GetNextPageToken()}
	for _, e := range resp.GetExecutions() {
		page.Executions = append(page.Executions, Execution{ExecutionID: e.GetExecutionId(), UpdatedAt: timeFromPB(e.GetUpdatedAt())})
	}
	return page, nil
}

// Delete removes one checkpoint and its pending writes; it reports false (and no
// error) when there was no such checkpoint.
func (c *Client) Delete(ctx context.Context, executionID, namespace, checkpointID string) (bool, error) {
	resp, err := call(ctx, c, c.stub.Delete, &pb.DeleteRequest{
		ExecutionId: executionID, Namespace: namespace, CheckpointId: checkpointID,
	})
	if err != nil {
		return false, err
	}
	return resp.GetDeleted(), nil
}

// Clear removes every checkpoint of an execution, in every namespace, and returns how
// many were removed.
func (c *Client) Clear(ctx context.Context, executionID string) (int64, error) {
	resp, err := call(ctx, c, c.stub.Clear, &pb.ClearRequest{ExecutionId: executionID})
	if err != nil {
		return 0, err
	}
	return resp.GetDeleted(), nil
}

// ClearNamespace removes every checkpoint of one namespace of an execution ("" is the
// root graph) and returns how many were removed.
func (c *Client) ClearNamespace(ctx context.Context, executionID, namespace string) (int64, error) {
	resp, err := call(ctx, c, c.stub.Clear, &pb.ClearRequest{ExecutionId: executionID, Namespace: &namespace})
	if err != nil {
		return 0, err
	}
	return resp.GetDeleted(), nil
}

// PutWrites stores pending writes of a task against a checkpoint and returns how many
// were stored. A write is keyed by (TaskID, Idx): for Idx >= 0 the first write of a key
// wins; a special write (Idx < 0) replaces the earlier one. The checkpoint need not be
// saved yet.
func (c *Client) PutWrites(ctx context.Context, executionID, namespace, checkpointID string, writes []PendingWrite) (int64, error) {
	req := &pb.PutWritesRequest{ExecutionId: executionID, Namespace: namespace, CheckpointId: checkpointID}
	for _, w := range writes {
		req.Writes = append(req.Writes, writeToPB(w))
	}
	resp, err := call(ctx, c, c.stub.PutWrites, req)
	if err != nil {
		return 0, err
	}
	return resp.GetStored(), nil
}

// DeleteWhere removes every checkpoint whose metadata matches the filter (which must
// not be empty), with its pending writes: within executionID, or across every
// execution when executionID is "". It returns how many were removed.
func (c *Client) DeleteWhere(ctx context.Context, filter map[string]interface{}, executionID string) (int64, error) {
	text, err := jsonObject(filter, "the metadata filter")
	if err != nil {
		return 0, err
	}
	if text == "" {
		return 0, newError(codes.InvalidArgument, "the metadata filter of DeleteWhere must not be empty")
	}
	req := &pb.DeleteWhereRequest{MetadataFilter: text}
	if executionID != "" {
		req.ExecutionId = &executionID
	}
	resp, err := call(ctx, c, c.stub.DeleteWhere, req)
	if err != nil {
		return 0, err
	}
	return resp.GetDeleted(), nil
}

// CopyExecution copies an execution, whole, to a new execution id and returns how many
// checkpoints were copied. The target must hold no checkpoints (else ErrConflict); a
// missing source is ErrNotFound.
func (c *Client) CopyExecution(ctx context.Context, sourceExecutionID, targetExecutionID string) (int64, error) {
	resp, err := call(ctx, c, c.stub.CopyExecution, &pb.CopyExecutionRequest{
		SourceExecutionId: sourceExecutionID, TargetExecutionId: targetExecutionID,
	})
	if err != nil {
		return 0, err
	}
	return resp.GetCopied(), nil
}

// Prune thins executions by strategy and returns how many checkpoints were removed.
func (c *Client) Prune(ctx context.Context, executionIDs []string, strategy PruneStrategy) (int64, error) {
	s, err := pruneStrategyToPB(strategy)
	if err != nil {
		return 0, err
	}
	resp, err := call(ctx, c, c.stub.Prune, &pb.PruneRequest{ExecutionIds: executionIDs, Strategy: s})
	if err != nil {
		return 0, err
	}
	return resp.GetDeleted(), nil
}

// Ancestors walks a checkpoint's parent chain, newest first, one page at a time.
func (c *Client) Ancestors(ctx context.Context, executionID, namespace, checkpointID string, opts AncestorsOptions) (Page, error) {
	size, err := pageSize(opts.PageSize)
	if err != nil {
		return Page{}, err
	}
	resp, err := call(ctx, c, c.stub.Ancestors, &pb.AncestorsRequest{
		ExecutionId: executionID, Namespace: namespace, CheckpointId: checkpointID,
		IncludeSelf: opts.IncludeSelf, Channels: opts.Channels, IncludeState: opts.IncludeState,
		PageSize: size, PageToken: opts.PageToken,
	})
	if err != nil {
		return Page{}, err
	}
	return pageFromPB(resp.GetCheckpoints(), resp.GetNextPageToken())
}
