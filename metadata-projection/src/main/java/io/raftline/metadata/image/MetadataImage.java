package io.raftline.metadata.image;

import java.util.Optional;
import java.util.UUID;
import org.pcollections.HashTreePMap;
import org.pcollections.PMap;

/**
 * The cluster's metadata after the record at {@link #offset()}: registered brokers and topics with
 * their partitions. Immutable and cheap to hand between event loops; a {@link MetadataDelta} makes the
 * next one, sharing every part that did not change.
 *
 * @param offset the offset of the last record applied, -1 for the empty image
 */
public record MetadataImage(
    long offset,
    PMap<Integer, BrokerRegistration> brokers,
    PMap<UUID, TopicImage> topicsById,
    PMap<String, UUID> topicIdsByName) {

  public static final MetadataImage EMPTY =
      new MetadataImage(-1, HashTreePMap.empty(), HashTreePMap.empty(), HashTreePMap.empty());

  public Optional<TopicImage> topic(String name) {
    UUID id = topicIdsByName.get(name);
    return id == null ? Optional.empty() : Optional.of(topicsById.get(id));
  }

  public Optional<TopicImage> topic(UUID id) {
    return Optional.ofNullable(topicsById.get(id));
  }

  public Optional<BrokerRegistration> broker(int id) {
    return Optional.ofNullable(brokers.get(id));
  }
}
