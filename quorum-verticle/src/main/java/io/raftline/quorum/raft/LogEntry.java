package io.raftline.quorum.raft;

import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of the replicated metadata log: its offset, the leader epoch that wrote it, and an opaque
 * payload (one serialised metadata record). The Raft core never looks inside the payload.
 */
public record LogEntry(long offset, int epoch, byte[] payload) {

  public LogEntry {
    if (offset < 0) throw new IllegalArgumentException("offset < 0: " + offset);
    if (epoch < 0) throw new IllegalArgumentException("epoch < 0: " + epoch);
    Objects.requireNonNull(payload, "payload");
  }

  // A record's generated equals compares arrays by identity; entries are compared by content.
  @Override
  public boolean equals(Object o) {
    return o instanceof LogEntry e && e.offset == offset && e.epoch == epoch && Arrays.equals(e.payload, payload);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Long.hashCode(offset) + epoch) + Arrays.hashCode(payload);
  }

  @Override
  public String toString() {
    return "LogEntry[offset=" + offset + ", epoch=" + epoch + ", bytes=" + payload.length + "]";
  }
}
