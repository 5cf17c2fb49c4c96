package io.checkpointgateway.client;

import java.util.Objects;

/**
 * Paging and filters of {@code list} and {@code search}: {@code
 * ListOptions.newBuilder().pageSize(50).pageToken(page.nextPageToken().orElseThrow()).build()}.
 */
public final class ListOptions {
  private static final ListOptions DEFAULTS = newBuilder().build();

  final int pageSize;
  final String pageToken;
  final String before;
  final String metadataFilter;
  final boolean allNamespaces;
  final boolean includeWrites;

  private ListOptions(Builder b) {
    this.pageSize = b.pageSize;
    this.pageToken = b.pageToken;
    this.before = b.before;
    this.metadataFilter = b.metadataFilter;
    this.allNamespaces = b.allNamespaces;
    this.includeWrites = b.includeWrites;
  }

  /** The gateway's default page size, the first page, no filter. */
  public static ListOptions defaults() {
    return DEFAULTS;
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** Builds {@link ListOptions}. */
  public static final class Builder {
    private int pageSize;
    private String pageToken = "";
    private String before = "";
    private String metadataFilter = "";
    private boolean allNamespaces;
    private boolean includeWrites;

    private Builder() {}

    /** At most this many per page (0: the gateway's default; it lowers larger ones). */
    public Builder pageSize(int pageSize) {
      if (pageSize < 0) {
        throw new IllegalArgumentException("pageSize must not be negative");
      }
      this.pageSize = pageSize;
      return this;
    }

    /** The previous page's next page token ("" or null: the first page). */
    public Builder pageToken(String pageToken) {
      this.pageToken = pageToken == null ? "" : pageToken;
      return this;
    }

    /** Only checkpoints older than this checkpoint id (list only). */
    public Builder before(String checkpointId) {
      this.before = checkpointId == null ? "" : checkpointId;
      return this;
    }

    /**
     * A JSON object: only checkpoints whose metadata has each key with an equal scalar
     * value, e.g. {@code {"source": "loop"}}.
     */
    public Builder metadataFilter(String json) {
      this.metadataFilter = json == null ? "" : json;
      return this;
    }

    /** Every namespace of the execution, newest first (list only). */
    public Builder allNamespaces(boolean allNamespaces) {
      this.allNamespaces = allNamespaces;
      return this;
    }

    /** Fill each checkpoint's pending writes. */
    public Builder includeWrites(boolean includeWrites) {
      this.includeWrites = includeWrites;
      return this;
    }

    public ListOptions build() {
      return new ListOptions(this);
    }
  }

  @Override
  public String toString() {
    return "ListOptions{pageSize=" + pageSize + ", pageToken=" + pageToken + ", before=" + before
        + ", metadataFilter=" + metadataFilter + ", allNamespaces=" + allNamespaces
        + ", includeWrites=" + includeWrites + "}";
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ListOptions)) {
      return false;
    }
    ListOptions x = (ListOptions) o;
    return pageSize == x.pageSize && pageToken.equals(x.pageToken) && before.equals(x.before)
        && metadataFilter.equals(x.metadataFilter) && allNamespaces == x.allNamespaces
        && includeWrites == x.includeWrites;
  }

  @Override
  public int hashCode() {
    return Objects.hash(pageSize, pageToken, before, metadataFilter, allNamespaces, includeWrites);
  }
}
