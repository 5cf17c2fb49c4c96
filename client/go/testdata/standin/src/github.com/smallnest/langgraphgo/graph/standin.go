// Package graph is a STAND-IN for github.com/smallnest/langgraphgo/graph, which cannot
// be fetched here (no GitHub, no Go module proxy). It declares only the two types the
// langgraphstore package implements against, with the names, fields and method
// signatures langgraphgo documents (graph/checkpointing.go, as of December 2025), and
// nothing else. It lives in a GOPATH directory (testdata/standin) that only the tests
// put on GOPATH; a program that uses langgraphstore builds against the real langgraphgo.
package graph

import (
	"context"
	"time"
)

// Checkpoint is langgraphgo's saved state at a point of an execution. langgraphgo puts
// the execution id in Metadata["execution_id"].
type Checkpoint struct {
	ID        string                 `json:"id"`
	NodeName  string                 `json:"node_name"`
	State     interface{}            `json:"state"`
	Metadata  map[string]interface{} `json:"metadata"`
	Timestamp time.Time              `json:"timestamp"`
	Version   int                    `json:"version"`
}

// CheckpointStore is langgraphgo's interface for checkpoint persistence.
type CheckpointStore interface {
	Save(ctx context.Context, checkpoint *Checkpoint) error
	Load(ctx context.Context, checkpointID string) (*Checkpoint, error)
	List(ctx context.Context, executionID string) ([]*Checkpoint, error)
	Delete(ctx context.Context, checkpointID string) error
	Clear(ctx context.Context, executionID string) error
}
