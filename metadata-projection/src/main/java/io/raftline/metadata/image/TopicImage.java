package io.raftline.metadata.image;

import java.util.UUID;
import org.pcollections.PMap;

/** One topic: its id, name and partitions. Immutable; changes make a new instance sharing the rest. */
public record TopicImage(UUID id, String name, PMap<Integer, PartitionRegistration> partitions) {
  public static TopicImage create(UUID id, String name) {
    return new TopicImage(id, name, HashTrieMap.empty());
  }

  public TopicImage withPartition(int index, PartitionRegistration partition) {
    return new TopicImage(id, name, partitions.plus(index, partition));
  }

  public PartitionRegistration partition(int index) {
    return partitions.get(index);
  }
}
