// Package langgraphstore keeps langgraphgo's checkpoints in a checkpoint-gateway: Store
// has the method set and semantics of langgraphgo's graph.CheckpointStore.
//
//	client, err := checkpoint.New(target, checkpoint.WithToken(token))
//	...
//	g := graph.NewCheckpointableMessageGraph()
//	g.SetCheckpointConfig(graph.CheckpointConfig{Store: langgraphstore.New(client), AutoSave: true})
//
// How langgraphgo's calls map onto the gateway:
//
//   - An execution is a gateway execution, and its checkpoints live in the root
//     namespace (""). langgraphgo names the execution in Metadata["execution_id"], as its
//     own stores read it; Save refuses a checkpoint without it (ErrInvalidArgument).
//   - The langgraphgo checkpoint ID is the gateway's checkpoint id (ids are unique
//     across executions, as in langgraphgo's own stores, where the id is the key).
//   - Load(id) and Delete(id) come without the execution. Save therefore also writes the
//     id into the metadata under IDMetadataKey, and Load is a Search and Delete a
//     DeleteWhere on that key: one call each, which every backend implements as part of
//     the contract (PostgreSQL reads its metadata index; the others walk candidates).
//   - List returns the execution's checkpoints in version order, oldest first, so the
//     last one is the latest, as langgraphgo assumes when it takes the last of List.
//     Versions are the gateway's, so that order is the order of the saves, never
//     arbitrary; Latest reads the newest in one call.
//   - Save fills an empty ID with a new time-ordered id, and sets Version and Timestamp
//     to the version and time the gateway stored. A checkpoint is written once: saving
//     an id again with the same content changes nothing, with other content it is
//     ErrConflict (langgraphgo's SQL stores would overwrite it).
//   - State is stored as JSON and comes back decoded by encoding/json (objects as
//     map[string]interface{}, numbers as float64), as from langgraphgo's SQL stores.
package langgraphstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/checkpoint-gateway/checkpoint-gateway/client/go/checkpoint"
	"github.com/smallnest/langgraphgo/graph"
	"google.golang.org/grpc/codes"
)

// IDMetadataKey is the metadata key under which Save also stores the checkpoint id, so
// that Load and Delete can find a checkpoint by its id alone.
const IDMetadataKey = "langgraphgo_checkpoint_id"

// ExecutionMetadataKey is where langgraphgo puts a checkpoint's execution id.
const ExecutionMetadataKey = "execution_id"

// listPageSize is how many checkpoints List asks for per call (a variable so that a
// test can make List walk several pages).
var listPageSize = 100

// Store is a graph.CheckpointStore over a checkpoint-gateway client.
type Store struct {
	client *checkpoint.Client
}

var _ graph.CheckpointStore = (*Store)(nil)

// New returns a Store that keeps checkpoints through client. Closing the client is
// the caller's business.
func New(client *checkpoint.Client) *Store {
	return &Store{client: client}
}

func invalid(format string, args ...interface{}) error {
	return &checkpoint.Error{Code: codes.InvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// Save stores cp under its execution (cp.Metadata["execution_id"]). It fills an empty
// cp.ID (before the call), and sets cp.Version and cp.Timestamp to what the gateway
// stored.
func (s *Store) Save(ctx context.Context, cp *graph.Checkpoint) error {
	if cp == nil {
		return invalid("the checkpoint is nil")
	}
	executionID, _ := cp.Metadata[ExecutionMetadataKey].(string)
	if executionID == "" {
		return invalid("the checkpoint's metadata has no %q string", ExecutionMetadataKey)
	}
	if id, ok := cp.Metadata[IDMetadataKey]; ok && id != cp.ID {
		return invalid("the metadata key %q is the store's own", IDMetadataKey)
	}
	state, err := json.Marshal(cp.State)
	if err != nil {
		return invalid("the state is not JSON-encodable: %v", err)
	}
	if cp.ID == "" {
		// Set before the call, so that a caller retrying a failed Save reuses the id
		// and a save that did reach the gateway is not stored twice.
		cp.ID = checkpoint.NewCheckpointID()
	}
	id := cp.ID
	metadata := make(map[string]interface{}, len(cp.Metadata)+1)
	for k, v := range cp.Metadata {
		metadata[k] = v
	}
	metadata[IDMetadataKey] = id
	saved, err := s.client.Save(ctx, checkpoint.Checkpoint{
		ExecutionID:  executionID,
		CheckpointID: id,
		Node:         cp.NodeName,
		State:        state,
		ContentType:  checkpoint.ContentTypeJSON,
		Metadata:     metadata,
	})
	if err != nil {
		return err
	}
	cp.ID = saved.CheckpointID
	cp.Version = int(saved.Version)
	cp.Timestamp = saved.CreatedAt
	return nil
}

// Load returns the checkpoint with this id, in whichever execution it is, or an error
// matching checkpoint.ErrNotFound.
func (s *Store) Load(ctx context.Context, checkpointID string) (*graph.Checkpoint, error) {
	if checkpointID == "" {
		return nil, invalid("the checkpoint id is empty")
	}
	page, err := s.client.Search(ctx, checkpoint.SearchOptions{
		MetadataFilter: map[string]interface{}{IDMetadataKey: checkpointID},
		PageSize:       1,
	})
	if err != nil {
		return nil, err
	}
	if len(page.Checkpoints) == 0 {
		return nil, &checkpoint.Error{Code: codes.NotFound, Message: fmt.Sprintf("checkpoint %q not found", checkpointID)}
	}
	return fromGateway(page.Checkpoints[0])
}

// Latest returns the newest checkpoint of an execution (the last one List returns),
// in one call, or an error matching checkpoint.ErrNotFound when it has none.
func (s *Store) Latest(ctx context.Context, executionID string) (*graph.Checkpoint, error) {
	cp, err := s.client.Latest(ctx, executionID, "")
	if err != nil {
		return nil, err
	}
	return fromGateway(cp)
}

// List returns every checkpoint of an execution in version order, oldest first (none,
// and no error, for an unknown execution).
func (s *Store) List(ctx context.Context, executionID string) ([]*graph.Checkpoint, error) {
	var newestFirst []checkpoint.Checkpoint
	opts := checkpoint.ListOptions{PageSize: listPageSize}
	for {
		page, err := s.client.List(ctx, executionID, opts)
		if err != nil {
			return nil, err
		}
		newestFirst = append(newestFirst, page.Checkpoints...)
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	out := make([]*graph.Checkpoint, 0, len(newestFirst))
	for i := len(newestFirst) - 1; i >= 0; i-- {
		cp, err := fromGateway(newestFirst[i])
		if err != nil {
			return nil, err
		}
		out = append(out, cp)
	}
	return out, nil
}

// Delete removes the checkpoint with this id, with its pending writes. Deleting a
// missing checkpoint succeeds, as in langgraphgo's stores.
func (s *Store) Delete(ctx context.Context, checkpointID string) error {
	if checkpointID == "" {
		return invalid("the checkpoint id is empty")
	}
	_, err := s.client.DeleteWhere(ctx, map[string]interface{}{IDMetadataKey: checkpointID}, "")
	return err
}

// Clear removes every checkpoint of an execution.
func (s *Store) Clear(ctx context.Context, executionID string) error {
	_, err := s.client.Clear(ctx, executionID)
	return err
}

// fromGateway is the langgraphgo checkpoint a gateway checkpoint holds.
func fromGateway(cp checkpoint.Checkpoint) (*graph.Checkpoint, error) {
	var state interface{}
	if len(cp.State) > 0 {
		if err := json.Unmarshal(cp.State, &state); err != nil {
			return nil, &checkpoint.Error{
				Code:    codes.InvalidArgument,
				Message: fmt.Sprintf("checkpoint %q holds state that is not JSON (%s)", cp.CheckpointID, cp.ContentType),
			}
		}
	}
	metadata := make(map[string]interface{}, len(cp.Metadata))
	for k, v := range cp.Metadata {
		if k != IDMetadataKey {
			metadata[k] = v
		}
	}
	return &graph.Checkpoint{
		ID:        cp.CheckpointID,
		NodeName:  cp.Node,
		State:     state,
		Metadata:  metadata,
		Timestamp: cp.CreatedAt,
		Version:   int(cp.Version),
	}, nil
}
