package io.raftline.metadata;

/** A partition named by its topic's name and its index, as it is named on disk and on the wire. */
public record TopicPartition(String topic, int partition) {

  // Written out: a record's generated equals and hashCode run through method-handle chains that
  // C1-only JVMs (Raftline's default on small machines) do not inline, and this is the key of every
  // per-partition map a fetch or produce looks into (a tenth of an idle broker's CPU went there).
  @Override
  public boolean equals(Object o) {
    return this == o || (o instanceof TopicPartition other && partition == other.partition && topic.equals(other.topic));
  }

  @Override
  public int hashCode() {
    return 31 * topic.hashCode() + partition;
  }

  @Override
  public String toString() {
    return topic + "-" + partition;
  }
}
