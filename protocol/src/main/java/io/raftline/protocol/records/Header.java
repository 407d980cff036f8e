package io.raftline.protocol.records;

import java.util.Arrays;
import java.util.Objects;

/** A record header: a string key and an optional byte value. */
public record Header(String key, byte[] value) {
  public Header {
    Objects.requireNonNull(key, "key");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Header h && h.key.equals(key) && Arrays.equals(h.value, value);
  }

  @Override
  public int hashCode() {
    return 31 * key.hashCode() + Arrays.hashCode(value);
  }
}
