package checkpoint

import "time"

// ContentTypeJSON is the media type of JSON state, write values and channel values.
const ContentTypeJSON = "application/json"

// Checkpoint is one saved step of an execution. It is addressed by (ExecutionID,
// Namespace, CheckpointID); within one (ExecutionID, Namespace) lineage the gateway
// numbers checkpoints 1, 2, 3... in the order they were saved (Version).
type Checkpoint struct {
	// ExecutionID is the run or thread (LangGraph thread_id, langgraphgo execution id).
	ExecutionID string
	// Namespace is the sub-graph namespace; "" is the root graph.
	Namespace string
	// CheckpointID is unique within the lineage. Save fills an empty one with a new
	// time-ordered UUIDv7 before the call leaves, so a retried save is idempotent.
	CheckpointID string
	// ParentID is the checkpoint this one follows; "" for the first one.
	ParentID string
	// Node is the node that just ran; NextNodes are the nodes to run next.
	Node      string
	NextNodes []string
	// State is opaque to the gateway; ContentType is its media type.
	State       []byte
	ContentType string
	// Metadata is a JSON object; its top-level keys can be filtered on in List,
	// Search and DeleteWhere.
	Metadata map[string]interface{}
	// CreatedAt and Version are set by the gateway on Save (and ignored in requests).
	CreatedAt time.Time
	Version   int64
	// PendingWrites are filled by Load and Latest (and by List, Search and Ancestors
	// when asked for); Save ignores them (use PutWrites).
	PendingWrites []PendingWrite
	// Channels are named parts of the state, each stored once per version; see Channel.
	Channels map[string]Channel
}

// Channel is a named part of the state (LangGraph's channel blobs). On Save, a channel
// with a Value stores it; one with a nil Value refers to the value stored earlier in
// this lineage under the same name and version.
type Channel struct {
	Version string
	// Value is nil for a reference to a stored value; an empty non-nil slice is an
	// empty value.
	Value       []byte
	ContentType string
}

// PendingWrite is a write of a task against a checkpoint, keyed by (TaskID, Idx).
type PendingWrite struct {
	TaskID string
	// Idx is the write's position within its task; negative values are reserved for
	// special channels (LangGraph's error and interrupt writes).
	Idx         int32
	Channel     string
	Value       []byte
	ContentType string
	TaskPath    string
}

// Page is one page of checkpoints, newest first. NextPageToken is "" after the last
// page.
type Page struct {
	Checkpoints   []Checkpoint
	NextPageToken string
}

// Execution is an execution that holds checkpoints, and when its newest was saved.
type Execution struct {
	ExecutionID string
	UpdatedAt   time.Time
}

// ExecutionPage is one page of executions, the most recently saved to first.
type ExecutionPage struct {
	Executions    []Execution
	NextPageToken string
}

// NamespacePage is one page of namespaces, in code point order ("" first).
type NamespacePage struct {
	Namespaces    []string
	NextPageToken string
}

// SaveItem is one save of a SaveMany call.
type SaveItem struct {
	Checkpoint Checkpoint
	// ExpectedVersion, when not nil, makes the save a compare-and-set: it succeeds only
	// if the lineage's latest version is this one (0: the lineage must be empty).
	ExpectedVersion *int64
}

// SaveResult is the outcome of one SaveItem: the saved checkpoint, or Err (an *Error
// with the code Save would have returned).
type SaveResult struct {
	Checkpoint Checkpoint
	Err        error
}

// PruneStrategy says what Prune keeps.
type PruneStrategy int

const (
	// PruneKeepLatest keeps the newest checkpoint of each namespace, with its writes
	// and channels.
	PruneKeepLatest PruneStrategy = iota
	// PruneDeleteAll removes every checkpoint, as Clear does.
	PruneDeleteAll
)

// ListOptions narrow and page a List call. The zero value lists the root namespace
// from the newest checkpoint, one page of the gateway's default size.
type ListOptions struct {
	Namespace string
	// PageSize 0 is the gateway's default; larger values than its maximum are lowered.
	PageSize int
	// PageToken is the NextPageToken of the previous page; "" for the first page.
	PageToken string
	// Before lists only checkpoints older than this checkpoint id.
	Before string
	// MetadataFilter keeps checkpoints whose metadata has each key with an equal value
	// (scalars only: string, number, bool, nil).
	MetadataFilter map[string]interface{}
	// AllNamespaces lists every namespace of the execution, newest first.
	AllNamespaces bool
	// IncludeWrites fills each checkpoint's PendingWrites.
	IncludeWrites bool
}

// SearchOptions filter and page a Search call across every execution.
type SearchOptions struct {
	MetadataFilter map[string]interface{}
	PageSize       int
	PageToken      string
	IncludeWrites  bool
}

// PageOptions page a ListNamespaces or ListExecutions call.
type PageOptions struct {
	PageSize  int
	PageToken string
}

// AncestorsOptions shape an Ancestors walk.
type AncestorsOptions struct {
	// IncludeSelf starts the walk with the checkpoint itself rather than its parent.
	IncludeSelf bool
	// Channels, when given, limits each ancestor's writes and channels to these and
	// ends the walk once each has been found.
	Channels []string
	// IncludeState fills State (a walk leaves it empty by default).
	IncludeState bool
	PageSize     int
	PageToken    string
}
