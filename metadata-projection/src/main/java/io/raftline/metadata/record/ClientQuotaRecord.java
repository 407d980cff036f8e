package io.raftline.metadata.record;

import java.util.Map;
import java.util.TreeMap;

/**
 * A quota of a client entity (for example {@code user=alice} or {@code client-id=app}); a null value
 * removes the key.
 */
public record ClientQuotaRecord(Map<String, String> entity, String key, Double value) implements MetadataRecord {
  public ClientQuotaRecord {
    // Sorted, so equal entities compare and print the same whatever order they were built in.
    entity = java.util.Collections.unmodifiableMap(new TreeMap<>(entity));
  }
}
