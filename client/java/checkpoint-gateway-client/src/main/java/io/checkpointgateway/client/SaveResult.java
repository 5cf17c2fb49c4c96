package io.checkpointgateway.client;

import java.util.Optional;

/**
 * The outcome of one item of {@code saveMany}: the saved checkpoint, or the exception a
 * {@code save} of it alone would have thrown.
 */
public final class SaveResult {
  private final Checkpoint saved;
  private final CheckpointGatewayException error;

  private SaveResult(Checkpoint saved, CheckpointGatewayException error) {
    this.saved = saved;
    this.error = error;
  }

  static SaveResult saved(Checkpoint checkpoint) {
    return new SaveResult(checkpoint, null);
  }

  static SaveResult failed(CheckpointGatewayException error) {
    return new SaveResult(null, error);
  }

  public boolean isSaved() {
    return saved != null;
  }

  /** The checkpoint as stored (id, version, created at); empty when the item failed. */
  public Optional<Checkpoint> checkpoint() {
    return Optional.ofNullable(saved);
  }

  /** Why the item failed; empty when it was saved. */
  public Optional<CheckpointGatewayException> error() {
    return Optional.ofNullable(error);
  }

  /** The saved checkpoint, or the item's exception thrown. */
  public Checkpoint getOrThrow() {
    if (error != null) {
      throw error;
    }
    return saved;
  }

  @Override
  public String toString() {
    return saved != null ? "SaveResult{saved=" + saved + "}" : "SaveResult{error=" + error + "}";
  }
}
