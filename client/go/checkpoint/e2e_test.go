package checkpoint_test

// End-to-end tests against the real gateway that tests/sdk/test_go.py starts (over
// memory, SQLite, PostgreSQL or Redis). Each test uses executions of its own.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/checkpoint-gateway/checkpoint-gateway/client/go/checkpoint"
	"github.com/checkpoint-gateway/checkpoint-gateway/client/go/internal/gwtest"
)

func state(step int) []byte { return []byte(fmt.Sprintf(`{"step":%d}`, step)) }

// saveSteps saves n checkpoints of one lineage, each the parent of the next.
func saveSteps(t *testing.T, c *checkpoint.Client, executionID string, n int) []checkpoint.Checkpoint {
	t.Helper()
	var out []checkpoint.Checkpoint
	parent := ""
	for i := 1; i <= n; i++ {
		cp, err := c.Save(context.Background(), checkpoint.Checkpoint{
			ExecutionID: executionID, ParentID: parent, Node: fmt.Sprintf("node-%d", i),
			State: state(i), ContentType: checkpoint.ContentTypeJSON,
			Metadata: map[string]interface{}{"step": i, "source": "loop"},
		})
		if err != nil {
			t.Fatalf("Save %d: %v", i, err)
		}
		out = append(out, cp)
		parent = cp.CheckpointID
	}
	return out
}

func TestSaveLoadLatest(t *testing.T) {
	c := gwtest.Client(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("save")
	saved := saveSteps(t, c, exec, 3)
	for i, cp := range saved {
		if cp.Version != int64(i+1) || cp.CheckpointID == "" || cp.CreatedAt.IsZero() {
			t.Errorf("save %d answered version %d id %q at %v", i+1, cp.Version, cp.CheckpointID, cp.CreatedAt)
		}
	}
	got, err := c.Load(ctx, exec, "", saved[1].CheckpointID)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !bytes.Equal(got.State, state(2)) || got.Node != "node-2" || got.ParentID != saved[0].CheckpointID ||
		got.Version != 2 || got.ContentType != checkpoint.ContentTypeJSON || got.Metadata["source"] != "loop" ||
		got.Metadata["step"] != float64(2) {
		t.Errorf("Load = %+v", got)
	}
	latest, err := c.Latest(ctx, exec, "")
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	if latest.CheckpointID != saved[2].CheckpointID || latest.Version != 3 {
		t.Errorf("Latest = %s v%d, want %s v3", latest.CheckpointID, latest.Version, saved[2].CheckpointID)
	}
	// A retried save (same id, same content) is a no-op that answers the stored version.
	again, err := c.Save(ctx, checkpoint.Checkpoint{
		ExecutionID: exec, CheckpointID: saved[0].CheckpointID, Node: "node-1", State: state(1),
		ContentType: checkpoint.ContentTypeJSON, Metadata: map[string]interface{}{"step": 1, "source": "loop"},
	})
	if err != nil || again.Version != 1 {
		t.Errorf("retried save = v%d, %v; want v1", again.Version, err)
	}
}

func TestListPages(t *testing.T) {
	c := gwtest.Client(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("list")
	saved := saveSteps(t, c, exec, 5)
	var versions []int64
	opts := checkpoint.ListOptions{PageSize: 2}
	pages := 0
	for {
		page, err := c.List(ctx, exec, opts)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		pages++
		if len(page.Checkpoints) > 2 {
			t.Fatalf("a page of %d checkpoints for page size 2", len(page.Checkpoints))
		}
		for _, cp := range page.Checkpoints {
			versions = append(versions, cp.Version)
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	if fmt.Sprint(versions) != "[5 4 3 2 1]" || pages != 3 {
		t.Errorf("pages %d gave versions %v, want 3 pages of [5 4 3 2 1]", pages, versions)
	}
	tests := []struct {
		name string
		opts checkpoint.ListOptions
		want string
	}{
		{"before", checkpoint.ListOptions{Before: saved[2].CheckpointID}, "[2 1]"},
		{"metadata filter", checkpoint.ListOptions{MetadataFilter: map[string]interface{}{"step": 4}}, "[4]"},
		{"all namespaces", checkpoint.ListOptions{AllNamespaces: true, PageSize: 1}, "[5]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := c.List(ctx, exec, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, cp := range page.Checkpoints {
				got = append(got, cp.Version)
			}
			if fmt.Sprint(got) != tt.want {
				t.Errorf("versions %v, want %s", got, tt.want)
			}
		})
	}
}

func TestPutWrites(t *testing.T) {
	c := gwtest.Client(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("writes")
	cp := saveSteps(t, c, exec, 1)[0]
	writes := []checkpoint.PendingWrite{
		{TaskID: "task-1", Idx: 0, Channel: "messages", Value: []byte(`"hi"`), ContentType: checkpoint.ContentTypeJSON},
		{TaskID: "task-1", Idx: 1, Channel: "count", Value: []byte(`1`), ContentType: checkpoint.ContentTypeJSON},
	}
	if n, err := c.PutWrites(ctx, exec, "", cp.CheckpointID, writes); err != nil || n != 2 {
		t.Fatalf("PutWrites = %d, %v", n, err)
	}
	// First write wins for idx >= 0: a retry with another value changes nothing.
	retry := []checkpoint.PendingWrite{{TaskID: "task-1", Idx: 0, Channel: "messages", Value: []byte(`"other"`)}}
	if _, err := c.PutWrites(ctx, exec, "", cp.CheckpointID, retry); err != nil {
		t.Fatalf("PutWrites retry: %v", err)
	}
	got, err := c.Load(ctx, exec, "", cp.CheckpointID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.PendingWrites) != 2 || string(got.PendingWrites[0].Value) != `"hi"` || got.PendingWrites[1].Channel != "count" {
		t.Errorf("pending writes %+v", got.PendingWrites)
	}
	latest, err := c.Latest(ctx, exec, "")
	if err != nil || len(latest.PendingWrites) != 2 {
		t.Errorf("Latest has %d writes, %v", len(latest.PendingWrites), err)
	}
	page, err := c.List(ctx, exec, checkpoint.ListOptions{IncludeWrites: true})
	if err != nil || len(page.Checkpoints) != 1 || len(page.Checkpoints[0].PendingWrites) != 2 {
		t.Errorf("List with writes = %+v, %v", page, err)
	}
}

func TestDeleteAndClear(t *testing.T) {
	c := gwtest.Client(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("delete")
	saved := saveSteps(t, c, exec, 3)
	if ok, err := c.Delete(ctx, exec, "", saved[0].CheckpointID); err != nil || !ok {
		t.Errorf("Delete = %t, %v; want true", ok, err)
	}
	if ok, err := c.Delete(ctx, exec, "", saved[0].CheckpointID); err != nil || ok {
		t.Errorf("Delete of a missing checkpoint = %t, %v; want false, nil", ok, err)
	}
	if _, err := c.Load(ctx, exec, "", saved[0].CheckpointID); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("Load after Delete: %v; want ErrNotFound", err)
	}
	if _, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, Namespace: "child", State: state(9)}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.ClearNamespace(ctx, exec, "child"); err != nil || n != 1 {
		t.Errorf("ClearNamespace = %d, %v; want 1", n, err)
	}
	if n, err := c.Clear(ctx, exec); err != nil || n != 2 {
		t.Errorf("Clear = %d, %v; want 2", n, err)
	}
	if _, err := c.Latest(ctx, exec, ""); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("Latest after Clear: %v; want ErrNotFound", err)
	}
}

func TestErrors(t *testing.T) {
	c := gwtest.Client(t)
	env := gwtest.Gateway(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("errors")
	saved := saveSteps(t, c, exec, 2)
	noToken, err := checkpoint.New(env.Target)
	if err != nil {
		t.Fatal(err)
	}
	defer noToken.Close()
	wrongToken, err := checkpoint.New(env.Target, checkpoint.WithToken("not-the-token"))
	if err != nil {
		t.Fatal(err)
	}
	defer wrongToken.Close()
	tiny, cancel := context.WithTimeout(ctx, time.Microsecond)
	defer cancel()
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"load missing", func() error { _, err := c.Load(ctx, exec, "", "no-such-id"); return err }, checkpoint.ErrNotFound},
		{"latest of an empty lineage", func() error { _, err := c.Latest(ctx, exec, "nowhere"); return err }, checkpoint.ErrNotFound},
		{"expected version behind", func() error {
			_, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, State: state(3)}, checkpoint.ExpectVersion(1))
			return err
		}, checkpoint.ErrConflict},
		{"lineage expected empty", func() error {
			_, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, State: state(3)}, checkpoint.ExpectVersion(0))
			return err
		}, checkpoint.ErrConflict},
		{"id reused with other content", func() error {
			_, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, CheckpointID: saved[0].CheckpointID, State: state(42)})
			return err
		}, checkpoint.ErrConflict},
		{"empty execution id", func() error { _, err := c.Save(ctx, checkpoint.Checkpoint{}); return err }, checkpoint.ErrInvalidArgument},
		{"deadline of 1µs", func() error { _, err := c.Latest(tiny, exec, ""); return err }, checkpoint.ErrDeadlineExceeded},
		{"no token", func() error { _, err := noToken.Latest(ctx, exec, ""); return err }, checkpoint.ErrUnauthenticated},
		{"wrong token", func() error { _, err := wrongToken.Latest(ctx, exec, ""); return err }, checkpoint.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
			var e *checkpoint.Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Errorf("%v is not an *Error with the gateway's message", err)
			}
		})
	}
	// The compare-and-set that matches the latest version succeeds.
	if cp, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, State: state(3)}, checkpoint.ExpectVersion(2)); err != nil || cp.Version != 3 {
		t.Errorf("Save expecting v2 = v%d, %v", cp.Version, err)
	}
	if !errors.Is(func() error { _, err := c.Latest(tiny, exec, ""); return err }(), context.DeadlineExceeded) {
		t.Error("a call past its context's deadline does not match context.DeadlineExceeded")
	}
}

func TestCallMetadata(t *testing.T) {
	env := gwtest.Gateway(t)
	// The token as raw call metadata: WithMetadata pairs reach the gateway.
	c, err := checkpoint.New(env.Target, checkpoint.WithMetadata("x-team", "sdk-go", "authorization", "Bearer "+env.Token))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exec := gwtest.ExecutionID("metadata")
	if _, err := c.Save(context.Background(), checkpoint.Checkpoint{ExecutionID: exec, State: state(1)}); err != nil {
		t.Fatalf("Save with the token in WithMetadata: %v", err)
	}
	calls := 0
	src, err := checkpoint.New(env.Target, checkpoint.WithTokenSource(func() (string, error) { calls++; return env.Token, nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Latest(context.Background(), exec, ""); err != nil || calls != 1 {
		t.Errorf("Latest with a token source = %v after %d token calls", err, calls)
	}
	failing, err := checkpoint.New(env.Target, checkpoint.WithTokenSource(func() (string, error) { return "", errors.New("expired") }))
	if err != nil {
		t.Fatal(err)
	}
	defer failing.Close()
	if _, err := failing.Latest(context.Background(), exec, ""); !errors.Is(err, checkpoint.ErrUnauthenticated) {
		t.Errorf("a failing token source: %v; want ErrUnauthenticated", err)
	}
}

func TestTLS(t *testing.T) {
	env := gwtest.Gateway(t)
	if env.TLSTarget == "" {
		t.Skip("no TLS gateway in the environment")
	}
	c, err := checkpoint.New(env.TLSTarget, checkpoint.WithTLSCAFile(env.TLSCA), checkpoint.WithToken(env.Token))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	exec := gwtest.ExecutionID("tls")
	cp, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, State: state(1)})
	if err != nil {
		t.Fatalf("Save over TLS: %v", err)
	}
	got, err := c.Load(ctx, exec, "", cp.CheckpointID)
	if err != nil || !bytes.Equal(got.State, state(1)) {
		t.Fatalf("Load over TLS = %q, %v", got.State, err)
	}
	// Without the CA the certificate is not trusted: the gateway is unreachable.
	untrusted, err := checkpoint.New(env.TLSTarget, checkpoint.WithTLS(&tls.Config{MinVersion: tls.VersionTLS12}),
		checkpoint.WithToken(env.Token), checkpoint.WithDefaultTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	if _, err := untrusted.Latest(ctx, exec, ""); !errors.Is(err, checkpoint.ErrUnavailable) {
		t.Errorf("TLS without the CA: %v; want ErrUnavailable", err)
	}
}

func TestTheOtherRPCs(t *testing.T) {
	c := gwtest.Client(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("rpcs")
	run := gwtest.ExecutionID("run")
	v0 := int64(0)
	first := checkpoint.NewCheckpointID()

	results, err := c.SaveMany(ctx, []checkpoint.SaveItem{
		{Checkpoint: checkpoint.Checkpoint{ExecutionID: exec, CheckpointID: first, State: state(1), Metadata: map[string]interface{}{"run_id": run}}, ExpectedVersion: &v0},
		{Checkpoint: checkpoint.Checkpoint{ExecutionID: exec, ParentID: first, State: state(2), Metadata: map[string]interface{}{"run_id": run}}},
		{Checkpoint: checkpoint.Checkpoint{ExecutionID: exec, State: state(3)}, ExpectedVersion: &v0},
	})
	if err != nil || len(results) != 3 {
		t.Fatalf("SaveMany = %v, %v", results, err)
	}
	if results[0].Err != nil || results[1].Err != nil || results[1].Checkpoint.Version != 2 || !errors.Is(results[2].Err, checkpoint.ErrConflict) {
		t.Errorf("SaveMany results %+v", results)
	}
	if _, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, Namespace: "sub", ParentID: results[1].Checkpoint.CheckpointID, State: state(4)}); err != nil {
		t.Fatal(err)
	}

	t.Run("Search", func(t *testing.T) {
		page, err := c.Search(ctx, checkpoint.SearchOptions{MetadataFilter: map[string]interface{}{"run_id": run}, PageSize: 1})
		if err != nil || len(page.Checkpoints) != 1 || page.Checkpoints[0].Version != 2 || page.NextPageToken == "" {
			t.Fatalf("Search page 1 = %+v, %v", page, err)
		}
		page, err = c.Search(ctx, checkpoint.SearchOptions{MetadataFilter: map[string]interface{}{"run_id": run}, PageToken: page.NextPageToken})
		if err != nil || len(page.Checkpoints) != 1 || page.Checkpoints[0].Version != 1 {
			t.Fatalf("Search page 2 = %+v, %v", page, err)
		}
	})
	t.Run("ListNamespaces", func(t *testing.T) {
		page, err := c.ListNamespaces(ctx, exec, checkpoint.PageOptions{})
		if err != nil || fmt.Sprintf("%q", page.Namespaces) != `["" "sub"]` {
			t.Errorf("ListNamespaces = %q, %v", page.Namespaces, err)
		}
	})
	t.Run("ListExecutions", func(t *testing.T) {
		page, err := c.ListExecutions(ctx, checkpoint.PageOptions{PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Executions {
			if e.ExecutionID == exec && !e.UpdatedAt.IsZero() {
				return
			}
		}
		t.Errorf("ListExecutions has no %s in %+v", exec, page.Executions)
	})
	t.Run("Ancestors", func(t *testing.T) {
		page, err := c.Ancestors(ctx, exec, "", results[1].Checkpoint.CheckpointID, checkpoint.AncestorsOptions{IncludeSelf: true, IncludeState: true})
		if err != nil || len(page.Checkpoints) != 2 || page.Checkpoints[1].Version != 1 || !bytes.Equal(page.Checkpoints[1].State, state(1)) {
			t.Errorf("Ancestors = %+v, %v", page, err)
		}
	})
	t.Run("CopyExecution", func(t *testing.T) {
		target := gwtest.ExecutionID("copy")
		if n, err := c.CopyExecution(ctx, exec, target); err != nil || n != 3 {
			t.Errorf("CopyExecution = %d, %v; want 3", n, err)
		}
		if _, err := c.CopyExecution(ctx, exec, target); !errors.Is(err, checkpoint.ErrConflict) {
			t.Errorf("a copy onto a non-empty target: %v; want ErrConflict", err)
		}
		if _, err := c.CopyExecution(ctx, gwtest.ExecutionID("none"), gwtest.ExecutionID("copy")); !errors.Is(err, checkpoint.ErrNotFound) {
			t.Errorf("a copy of a missing source: %v; want ErrNotFound", err)
		}
		if n, err := c.Prune(ctx, []string{target}, checkpoint.PruneKeepLatest); err != nil || n != 1 {
			t.Errorf("Prune keep-latest = %d, %v; want 1 (of 2 in the root namespace, 1 in sub)", n, err)
		}
		if n, err := c.Prune(ctx, []string{target}, checkpoint.PruneDeleteAll); err != nil || n != 2 {
			t.Errorf("Prune delete-all = %d, %v; want 2", n, err)
		}
	})
	t.Run("DeleteWhere", func(t *testing.T) {
		if n, err := c.DeleteWhere(ctx, map[string]interface{}{"run_id": run}, exec); err != nil || n != 2 {
			t.Errorf("DeleteWhere = %d, %v; want 2", n, err)
		}
	})
}

func TestChannels(t *testing.T) {
	c := gwtest.Client(t)
	ctx := context.Background()
	exec := gwtest.ExecutionID("channels")
	first, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, Channels: map[string]checkpoint.Channel{
		"messages": {Version: "1", Value: []byte(`["hi"]`), ContentType: checkpoint.ContentTypeJSON},
		"empty":    {Version: "1", Value: []byte{}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if first.Channels["messages"].Value != nil || first.Channels["messages"].Version != "1" {
		t.Errorf("Save answered channels %+v; want references", first.Channels)
	}
	// The second checkpoint refers to the stored value (no Value) and adds a new one.
	second, err := c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, ParentID: first.CheckpointID, Channels: map[string]checkpoint.Channel{
		"messages": {Version: "1"},
		"count":    {Version: "2", Value: []byte(`2`), ContentType: checkpoint.ContentTypeJSON},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Load(ctx, exec, "", second.CheckpointID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Channels["messages"].Value) != `["hi"]` || string(got.Channels["count"].Value) != "2" || len(got.Channels) != 2 {
		t.Errorf("Load channels %+v", got.Channels)
	}
	if e, err := c.Load(ctx, exec, "", first.CheckpointID); err != nil || e.Channels["empty"].Value == nil {
		t.Errorf("an empty channel value came back as %+v, %v; want present and empty", e.Channels["empty"], err)
	}
	// A reference to a value never stored is NOT_FOUND.
	_, err = c.Save(ctx, checkpoint.Checkpoint{ExecutionID: exec, Channels: map[string]checkpoint.Channel{"nope": {Version: "9"}}})
	if !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("a reference to a missing channel value: %v; want ErrNotFound", err)
	}
}
