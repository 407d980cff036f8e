package io.raftline.client;

/** Where {@link Admin#resetOffsets} moves a group's offsets: earliest, latest, or a given offset. */
public final class OffsetSpec {
  private static final OffsetSpec EARLIEST = new OffsetSpec(-2);
  private static final OffsetSpec LATEST = new OffsetSpec(-1);

  /** -2 earliest, -1 latest, else the offset. */
  private final long value;

  private OffsetSpec(long value) {
    this.value = value;
  }

  /** Each partition's first offset (its log start). */
  public static OffsetSpec earliest() {
    return EARLIEST;
  }

  /** Each partition's end: only records produced from now on are read. */
  public static OffsetSpec latest() {
    return LATEST;
  }

  /** The same offset in every partition, kept between each partition's earliest and latest. */
  public static OffsetSpec offset(long offset) {
    if (offset < 0) {
      throw new IllegalArgumentException("an offset to reset to must not be negative, got " + offset);
    }
    return new OffsetSpec(offset);
  }

  boolean isEarliest() {
    return value == -2;
  }

  boolean isLatest() {
    return value == -1;
  }

  long offset() {
    return value;
  }

  @Override
  public String toString() {
    return isEarliest() ? "earliest" : isLatest() ? "latest" : "offset " + value;
  }
}
