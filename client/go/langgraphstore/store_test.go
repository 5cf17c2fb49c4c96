package langgraphstore

// These tests build against the STAND-IN of github.com/smallnest/langgraphgo/graph
// (testdata/standin), which declares langgraphgo's Checkpoint and CheckpointStore and
// nothing else, and run against the real gateway that tests/sdk/test_go.py starts.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/checkpoint-gateway/checkpoint-gateway/client/go/checkpoint"
	"github.com/checkpoint-gateway/checkpoint-gateway/client/go/internal/gwtest"
	"github.com/smallnest/langgraphgo/graph"
)

func newStore(t *testing.T) graph.CheckpointStore {
	return New(gwtest.Client(t))
}

// step is a checkpoint as langgraphgo's CheckpointListener makes one.
func step(executionID, id, node string, n int) *graph.Checkpoint {
	return &graph.Checkpoint{
		ID:        id,
		NodeName:  node,
		State:     map[string]interface{}{"messages": []interface{}{"hi"}, "count": float64(n)},
		Metadata:  map[string]interface{}{"execution_id": executionID, "event": "step"},
		Timestamp: time.Now(),
		Version:   1,
	}
}

func TestSaveLoadByIDAlone(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("lg")
	cp := step(exec, gwtest.ExecutionID("cp"), "agent", 1)
	if err := store.Save(ctx, cp); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if cp.Version != 1 || cp.Timestamp.IsZero() {
		t.Errorf("Save left version %d, timestamp %v", cp.Version, cp.Timestamp)
	}
	got, err := store.Load(ctx, cp.ID)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !got.Timestamp.Equal(cp.Timestamp) {
		t.Errorf("Load has timestamp %v, Save answered %v", got.Timestamp, cp.Timestamp)
	}
	got.Timestamp = cp.Timestamp // the same instant, maybe in another location
	if !reflect.DeepEqual(got, cp) {
		t.Errorf("Load = %+v\nwant   %+v", got, cp)
	}
	// Saving it again as loaded is a retry: nothing changes.
	if err := store.Save(ctx, got); err != nil || got.Version != 1 {
		t.Errorf("re-Save = v%d, %v", got.Version, err)
	}
}

func TestListIsInVersionOrderAcrossPages(t *testing.T) {
	defer func(n int) { listPageSize = n }(listPageSize)
	listPageSize = 2
	store := newStore(t)
	ctx := context.Background()
	exec, other := gwtest.ExecutionID("lg"), gwtest.ExecutionID("lg-other")
	var ids []string
	for i := 1; i <= 5; i++ {
		// Ids in an order unrelated to the saves: List follows the versions.
		cp := step(exec, fmt.Sprintf("%d-%s", 9-i, gwtest.ExecutionID("cp")), fmt.Sprintf("node-%d", i), i)
		if err := store.Save(ctx, cp); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cp.ID)
		if err := store.Save(ctx, step(other, gwtest.ExecutionID("cp"), "x", i)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := store.List(ctx, exec)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for i, cp := range list {
		gotIDs = append(gotIDs, cp.ID)
		if cp.Version != i+1 || cp.State.(map[string]interface{})["count"] != float64(i+1) {
			t.Errorf("List[%d] = v%d %v", i, cp.Version, cp.State)
		}
	}
	if !reflect.DeepEqual(gotIDs, ids) {
		t.Errorf("List ids %v, want %v (oldest first)", gotIDs, ids)
	}
	latest, err := store.(*Store).Latest(ctx, exec)
	if err != nil || latest.ID != list[len(list)-1].ID {
		t.Errorf("Latest = %v, %v; want the last of List", latest, err)
	}
	if empty, err := store.List(ctx, gwtest.ExecutionID("none")); err != nil || len(empty) != 0 {
		t.Errorf("List of an unknown execution = %v, %v", empty, err)
	}
}

func TestDeleteByIDAloneAndClear(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	exec, other := gwtest.ExecutionID("lg"), gwtest.ExecutionID("lg-other")
	a, b := step(exec, gwtest.ExecutionID("a"), "n", 1), step(exec, gwtest.ExecutionID("b"), "n", 2)
	c := step(other, gwtest.ExecutionID("c"), "n", 1)
	for _, cp := range []*graph.Checkpoint{a, b, c} {
		if err := store.Save(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Delete(ctx, a.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := store.Load(ctx, a.ID); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("Load after Delete: %v; want ErrNotFound", err)
	}
	if err := store.Delete(ctx, a.ID); err != nil {
		t.Errorf("Delete of a missing checkpoint: %v; want nil", err)
	}
	if list, err := store.List(ctx, exec); err != nil || len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("List after Delete = %v, %v", list, err)
	}
	if err := store.Clear(ctx, exec); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if list, err := store.List(ctx, exec); err != nil || len(list) != 0 {
		t.Errorf("List after Clear = %v, %v", list, err)
	}
	if got, err := store.Load(ctx, c.ID); err != nil || got.ID != c.ID {
		t.Errorf("Clear of one execution touched another: %v, %v", got, err)
	}
}

func TestStoreErrors(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("lg")
	saved := step(exec, gwtest.ExecutionID("cp"), "n", 1)
	if err := store.Save(ctx, saved); err != nil {
		t.Fatal(err)
	}
	changed := step(exec, saved.ID, "n", 2)
	noExec := step("", "", "n", 1)
	delete(noExec.Metadata, "execution_id")
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"nil checkpoint", func() error { return store.Save(ctx, nil) }, checkpoint.ErrInvalidArgument},
		{"no execution_id", func() error { return store.Save(ctx, noExec) }, checkpoint.ErrInvalidArgument},
		{"state not JSON", func() error {
			return store.Save(ctx, &graph.Checkpoint{State: make(chan int), Metadata: map[string]interface{}{"execution_id": exec}})
		}, checkpoint.ErrInvalidArgument},
		{"reserved metadata key", func() error {
			cp := step(exec, "x", "n", 1)
			cp.Metadata[IDMetadataKey] = "y"
			return store.Save(ctx, cp)
		}, checkpoint.ErrInvalidArgument},
		{"id reused with other state", func() error { return store.Save(ctx, changed) }, checkpoint.ErrConflict},
		{"load missing", func() error { _, err := store.Load(ctx, "no-such-checkpoint"); return err }, checkpoint.ErrNotFound},
		{"load empty id", func() error { _, err := store.Load(ctx, ""); return err }, checkpoint.ErrInvalidArgument},
		{"latest of an empty execution", func() error { _, err := store.(*Store).Latest(ctx, "nothing-here"); return err }, checkpoint.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("got %v; want %v", err, tt.want)
			}
		})
	}
}

func TestSaveFillsAnEmptyID(t *testing.T) {
	store := newStore(t)
	cp := step(gwtest.ExecutionID("lg"), "", "n", 1)
	if err := store.Save(context.Background(), cp); err != nil || cp.ID == "" {
		t.Fatalf("Save = %v, id %q", err, cp.ID)
	}
	if _, err := store.Load(context.Background(), cp.ID); err != nil {
		t.Errorf("Load of the filled id: %v", err)
	}
}
