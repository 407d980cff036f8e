package io.raftline.protocol.records;

import java.util.Arrays;
import java.util.List;

/**
 * One record as read back from a batch: its absolute offset and timestamp, and its key, value and
 * headers. {@code key} and {@code value} may be null (a null value is a tombstone).
 */
public record Record(long offset, long timestamp, byte[] key, byte[] value, List<Header> headers) {
  public Record {
    headers = List.copyOf(headers);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Record r && r.offset == offset && r.timestamp == timestamp
        && Arrays.equals(r.key, key) && Arrays.equals(r.value, value) && r.headers.equals(headers);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(offset) * 31 + Arrays.hashCode(value);
  }
}
