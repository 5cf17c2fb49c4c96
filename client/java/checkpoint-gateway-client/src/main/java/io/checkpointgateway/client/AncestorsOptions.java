package io.checkpointgateway.client;

import java.util.List;

/** How {@code ancestors} walks a checkpoint's parent chain. */
public final class AncestorsOptions {
  private static final AncestorsOptions DEFAULTS = newBuilder().build();

  final boolean includeSelf;
  final List<String> channels;
  final boolean includeState;
  final int pageSize;
  final String pageToken;

  private AncestorsOptions(Builder b) {
    this.includeSelf = b.includeSelf;
    this.channels = List.copyOf(b.channels);
    this.includeState = b.includeState;
    this.pageSize = b.pageSize;
    this.pageToken = b.pageToken;
  }

  /** Parents only, every ancestor whole but without state, the gateway's page size. */
  public static AncestorsOptions defaults() {
    return DEFAULTS;
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** Builds {@link AncestorsOptions}. */
  public static final class Builder {
    private boolean includeSelf;
    private List<String> channels = List.of();
    private boolean includeState;
    private int pageSize;
    private String pageToken = "";

    private Builder() {}

    /** Start with the checkpoint itself rather than its parent. */
    public Builder includeSelf(boolean includeSelf) {
      this.includeSelf = includeSelf;
      return this;
    }

    /**
     * Only these channels' writes and values, and stop at the first ancestor where each has
     * been found (the seed a delta channel replays its writes onto).
     */
    public Builder channels(List<String> channels) {
      this.channels = List.copyOf(channels);
      return this;
    }

    /** Fill each ancestor's state (left empty by default). */
    public Builder includeState(boolean includeState) {
      this.includeState = includeState;
      return this;
    }

    public Builder pageSize(int pageSize) {
      if (pageSize < 0) {
        throw new IllegalArgumentException("pageSize must not be negative");
      }
      this.pageSize = pageSize;
      return this;
    }

    public Builder pageToken(String pageToken) {
      this.pageToken = pageToken == null ? "" : pageToken;
      return this;
    }

    public AncestorsOptions build() {
      return new AncestorsOptions(this);
    }
  }
}
