package io.raftline.broker.group;

import java.util.Arrays;

/**
 * One key/value record of {@code __consumer_offsets}, as the coordinator writes and replays it. A null
 * {@code value} is a tombstone (compaction removes the key). The bytes are {@link OffsetRecords}'
 * encoding; the log treats them as an ordinary record's key and value.
 */
public record OffsetRecord(byte[] key, byte[] value) {
  public OffsetRecord {
    if (key == null) {
      throw new IllegalArgumentException("an offsets record needs a key");
    }
  }

  public boolean isTombstone() {
    return value == null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OffsetRecord r && Arrays.equals(key, r.key) && Arrays.equals(value, r.value);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(key) + Arrays.hashCode(value);
  }

  @Override
  public String toString() {
    return "OffsetRecord[" + OffsetRecords.describe(this) + "]";
  }
}
