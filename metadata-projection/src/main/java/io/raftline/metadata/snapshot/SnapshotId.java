package io.raftline.metadata.snapshot;

import java.util.Optional;

/**
 * Names a snapshot: it holds every record below {@code endOffset}, the last of which has
 * {@code epoch}. The file name sorts by offset: {@code 00000000000000001234-0000000007.checkpoint}.
 */
public record SnapshotId(long endOffset, int epoch) implements Comparable<SnapshotId> {
  public static final String SUFFIX = ".checkpoint";

  public String fileName() {
    return String.format("%020d-%010d%s", endOffset, epoch, SUFFIX);
  }

  /** The id a file name encodes, or empty if it is not a snapshot file name. */
  public static Optional<SnapshotId> parse(String fileName) {
    if (!fileName.endsWith(SUFFIX) || fileName.length() != 20 + 1 + 10 + SUFFIX.length()) {
      return Optional.empty();
    }
    try {
      return Optional.of(new SnapshotId(Long.parseLong(fileName.substring(0, 20)),
          Integer.parseInt(fileName.substring(21, 31))));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  @Override
  public int compareTo(SnapshotId o) {
    int c = Long.compare(endOffset, o.endOffset);
    return c != 0 ? c : Integer.compare(epoch, o.epoch);
  }
}
