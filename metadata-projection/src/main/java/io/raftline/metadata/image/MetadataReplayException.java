package io.raftline.metadata.image;

/**
 * A record that cannot apply to the image it follows (for example a partition of an unknown topic).
 * Replay must stop: skipping it would let nodes diverge.
 */
public final class MetadataReplayException extends RuntimeException {
  public MetadataReplayException(long offset, String message) {
    super("metadata record at offset " + offset + ": " + message);
  }
}
