package io.raftline.client;

import java.util.Comparator;

/** A partition, named by its topic and index. */
public record TopicPartition(String topic, int partition) implements Comparable<TopicPartition> {
  private static final Comparator<TopicPartition> ORDER =
      Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

  // Written out, not generated: a record's equals and hashCode run through method-handle chains that
  // C1-only JVMs (bin/raftline's default on small machines) do not inline, and this keys the
  // consumer's per-partition state.
  @Override
  public boolean equals(Object o) {
    return this == o || (o instanceof TopicPartition other && partition == other.partition && topic.equals(other.topic));
  }

  @Override
  public int hashCode() {
    return 31 * topic.hashCode() + partition;
  }

  @Override
  public int compareTo(TopicPartition o) {
    return ORDER.compare(this, o);
  }

  @Override
  public String toString() {
    return topic + "-" + partition;
  }
}
