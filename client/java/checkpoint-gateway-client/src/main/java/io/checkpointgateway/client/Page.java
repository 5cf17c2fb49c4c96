package io.checkpointgateway.client;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One page of a listing, in the listing's order (checkpoints newest first).
 *
 * @param <T> what is listed
 */
public final class Page<T> {
  private final List<T> items;
  private final String nextPageToken;

  public Page(List<T> items, String nextPageToken) {
    this.items = List.copyOf(items);
    this.nextPageToken = nextPageToken == null || nextPageToken.isEmpty() ? null : nextPageToken;
  }

  public List<T> items() {
    return items;
  }

  /** Pass it back as the page token for the next page; empty on the last page. */
  public Optional<String> nextPageToken() {
    return Optional.ofNullable(nextPageToken);
  }

  public boolean hasNextPage() {
    return nextPageToken != null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Page
        && items.equals(((Page<?>) o).items)
        && Objects.equals(nextPageToken, ((Page<?>) o).nextPageToken);
  }

  @Override
  public int hashCode() {
    return Objects.hash(items, nextPageToken);
  }

  @Override
  public String toString() {
    return "Page{items=" + items + ", nextPageToken=" + nextPageToken + "}";
  }
}
