package io.raftline.metadata;

/** A partition named by its topic's name and its index, as it is named on disk and on the wire. */
public record TopicPartition(String topic, int partition) {
  @Override
  public String toString() {
    return topic + "-" + partition;
  }
}
