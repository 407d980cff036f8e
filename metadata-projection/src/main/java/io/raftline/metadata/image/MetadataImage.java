package io.raftline.metadata.image;

import io.raftline.metadata.record.AccessControlEntryRecord;
import io.raftline.metadata.record.ConfigResource;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.pcollections.PMap;

/**
 * The cluster's metadata after the record at {@link #offset()}. Immutable and cheap to hand between
 * event loops; a {@link MetadataDelta} makes the next one, sharing every part that did not change.
 *
 * @param offset the offset of the last record applied, -1 for the empty image
 * @param brokers registered brokers by id
 * @param topicsById topics with their partitions
 * @param topicIdsByName the topic id of each name
 * @param configs explicitly set configuration keys of each resource
 * @param nextProducerId the first producer id not yet handed out
 * @param features finalized feature levels
 * @param acls access control entries by id
 * @param quotas client quotas by entity
 */
public record MetadataImage(
    long offset,
    PMap<Integer, BrokerRegistration> brokers,
    PMap<UUID, TopicImage> topicsById,
    PMap<String, UUID> topicIdsByName,
    PMap<ConfigResource, PMap<String, String>> configs,
    long nextProducerId,
    PMap<String, Integer> features,
    PMap<UUID, AccessControlEntryRecord> acls,
    PMap<Map<String, String>, PMap<String, Double>> quotas) {

  public static final MetadataImage EMPTY = new MetadataImage(-1, HashTrieMap.empty(), HashTrieMap.empty(),
      HashTrieMap.empty(), HashTrieMap.empty(), 0, HashTrieMap.empty(), HashTrieMap.empty(), HashTrieMap.empty());

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

  /** The explicitly set keys of a resource (empty if none). */
  public Map<String, String> configsOf(ConfigResource resource) {
    PMap<String, String> c = configs.get(resource);
    return c == null ? Map.of() : c;
  }

  /** True if the broker is registered and not fenced. */
  public boolean isUnfenced(int brokerId) {
    BrokerRegistration b = brokers.get(brokerId);
    return b != null && !b.fenced();
  }

  /** The same image at another offset: entries that carry no record still move the offset. */
  MetadataImage withOffset(long newOffset) {
    return new MetadataImage(newOffset, brokers, topicsById, topicIdsByName, configs, nextProducerId, features, acls,
        quotas);
  }
}
