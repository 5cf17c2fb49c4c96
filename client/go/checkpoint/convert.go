package checkpoint

// The one place where protobuf messages and this package's types meet: requests are
// built from our types, responses become our types, and no protobuf type reaches users.

import (
	"bytes"
	"encoding/json"
	"math"
	"time"

	pb "github.com/checkpoint-gateway/checkpoint-gateway/client/go/gen/checkpoint_gateway/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func checkpointToPB(cp Checkpoint) (*pb.Checkpoint, error) {
	metadata, err := jsonObject(cp.Metadata, "metadata")
	if err != nil {
		return nil, err
	}
	m := &pb.Checkpoint{
		ExecutionId:  cp.ExecutionID,
		Namespace:    cp.Namespace,
		CheckpointId: cp.CheckpointID,
		ParentId:     cp.ParentID,
		State:        cp.State,
		ContentType:  cp.ContentType,
		Metadata:     metadata,
		Node:         cp.Node,
		NextNodes:    cp.NextNodes,
	}
	for name, ch := range cp.Channels {
		m.Channels = append(m.Channels, &pb.Channel{
			Name: name, Version: ch.Version, Value: ch.Value, ContentType: ch.ContentType,
		})
	}
	return m, nil
}

func checkpointFromPB(m *pb.Checkpoint) (Checkpoint, error) {
	if m == nil {
		return Checkpoint{}, newError(codes.Internal, "the gateway answered without a checkpoint")
	}
	cp := Checkpoint{
		ExecutionID:  m.GetExecutionId(),
		Namespace:    m.GetNamespace(),
		CheckpointID: m.GetCheckpointId(),
		ParentID:     m.GetParentId(),
		Node:         m.GetNode(),
		NextNodes:    m.GetNextNodes(),
		State:        m.GetState(),
		ContentType:  m.GetContentType(),
		CreatedAt:    timeFromPB(m.GetCreatedAt()),
		Version:      m.GetVersion(),
		Metadata:     map[string]interface{}{},
	}
	if text := m.GetMetadata(); text != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(text)))
		if err := dec.Decode(&cp.Metadata); err != nil {
			return Checkpoint{}, newError(codes.Internal, "the gateway sent metadata that is not a JSON object")
		}
	}
	for _, w := range m.GetPendingWrites() {
		cp.PendingWrites = append(cp.PendingWrites, writeFromPB(w))
	}
	if len(m.GetChannels()) > 0 {
		cp.Channels = make(map[string]Channel, len(m.GetChannels()))
		for _, ch := range m.GetChannels() {
			cp.Channels[ch.GetName()] = Channel{
				Version: ch.GetVersion(), Value: ch.Value, ContentType: ch.GetContentType(),
			}
		}
	}
	return cp, nil
}

func checkpointsFromPB(ms []*pb.Checkpoint) ([]Checkpoint, error) {
	out := make([]Checkpoint, 0, len(ms))
	for _, m := range ms {
		cp, err := checkpointFromPB(m)
		if err != nil {
			return nil, err
		}
		out = append(out, cp)
	}
	return out, nil
}

func writeToPB(w PendingWrite) *pb.PendingWrite {
	return &pb.PendingWrite{
		TaskId: w.TaskID, Idx: w.Idx, Channel: w.Channel, Value: w.Value,
		ContentType: w.ContentType, TaskPath: w.TaskPath,
	}
}

func writeFromPB(m *pb.PendingWrite) PendingWrite {
	return PendingWrite{
		TaskID: m.GetTaskId(), Idx: m.GetIdx(), Channel: m.GetChannel(), Value: m.GetValue(),
		ContentType: m.GetContentType(), TaskPath: m.GetTaskPath(),
	}
}

func timeFromPB(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || (ts.GetSeconds() == 0 && ts.GetNanos() == 0) {
		return time.Time{}
	}
	return ts.AsTime()
}

// jsonObject encodes a metadata object or filter; nil and empty are "".
func jsonObject(value map[string]interface{}, what string) (string, error) {
	if len(value) == 0 {
		return "", nil
	}
	text, err := json.Marshal(value)
	if err != nil {
		return "", newError(codes.InvalidArgument, "%s is not JSON-encodable: %v", what, err)
	}
	return string(text), nil
}

// pageSize is a page size for a request: 0 for the gateway's default.
func pageSize(n int) (int32, error) {
	if n < 0 {
		return 0, newError(codes.InvalidArgument, "page size must not be negative, got %d", n)
	}
	if n > math.MaxInt32 {
		return math.MaxInt32, nil
	}
	return int32(n), nil
}

func pruneStrategyToPB(s PruneStrategy) (pb.PruneStrategy, error) {
	switch s {
	case PruneKeepLatest:
		return pb.PruneStrategy_PRUNE_STRATEGY_KEEP_LATEST, nil
	case PruneDeleteAll:
		return pb.PruneStrategy_PRUNE_STRATEGY_DELETE_ALL, nil
	}
	return 0, newError(codes.InvalidArgument, "unknown prune strategy %d", int(s))
}
