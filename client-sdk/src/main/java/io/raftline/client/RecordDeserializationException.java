package io.raftline.client;

/** A record whose key or value could not be deserialised, named by topic, partition and offset. */
public final class RecordDeserializationException extends RuntimeException {
  private final TopicPartition partition;
  private final long offset;
  private final boolean inKey;

  public RecordDeserializationException(TopicPartition partition, long offset, boolean inKey, Throwable cause) {
    super("cannot deserialise the " + (inKey ? "key" : "value") + " of the record at offset " + offset + " of "
        + partition + ": " + cause, cause);
    this.partition = partition;
    this.offset = offset;
    this.inKey = inKey;
  }

  public String topic() {
    return partition.topic();
  }

  public int partition() {
    return partition.partition();
  }

  public long offset() {
    return offset;
  }

  /** True if the key failed, false if the value did. */
  public boolean inKey() {
    return inKey;
  }
}
