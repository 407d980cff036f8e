package io.raftline.broker.log;

/** A fetch offset outside the log's valid range; the message names the range. */
public final class OffsetOutOfRangeException extends RuntimeException {
  public OffsetOutOfRangeException(long offset, long startOffset, long endOffset) {
    super("offset " + offset + " is out of range; valid offsets are " + startOffset + " to " + endOffset);
  }
}
