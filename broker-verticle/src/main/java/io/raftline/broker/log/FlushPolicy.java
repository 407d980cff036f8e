package io.raftline.broker.log;

/**
 * When a partition's log is forced to disk beyond close and roll: Kafka's {@code flush.messages}
 * and {@code flush.ms} (broker-wide {@code log.flush.interval.messages} / {@code log.flush.interval.ms}).
 * {@link Long#MAX_VALUE} turns a rule off; both off (the default) leaves durability to replication.
 *
 * @param intervalMessages fsync once this many messages were appended since the last flush (>= 1)
 * @param intervalMs fsync once the oldest unflushed append is this old (>= 0)
 */
public record FlushPolicy(long intervalMessages, long intervalMs) {
  public static final long OFF = Long.MAX_VALUE;
  public static final FlushPolicy NEVER = new FlushPolicy(OFF, OFF);

  public FlushPolicy {
    if (intervalMessages < 1) {
      throw new IllegalArgumentException("flush.messages must be >= 1: " + intervalMessages);
    }
    if (intervalMs < 0) {
      throw new IllegalArgumentException("flush.ms must be >= 0: " + intervalMs);
    }
  }

  /** True once {@code unflushedMessages} reach the message interval. */
  public boolean dueByMessages(long unflushedMessages) {
    return intervalMessages != OFF && unflushedMessages >= intervalMessages;
  }

  public boolean timed() {
    return intervalMs != OFF;
  }
}
