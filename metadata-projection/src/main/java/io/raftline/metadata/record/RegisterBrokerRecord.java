package io.raftline.metadata.record;

import java.util.List;

/**
 * A broker registered (or re-registered after a restart, with a new incarnation id). The broker epoch
 * is the offset of this record, so a later registration always has a larger epoch. A new
 * registration is normally fenced: the broker is unfenced once it has caught up.
 */
public record RegisterBrokerRecord(
    int brokerId, String incarnationId, long brokerEpoch, List<BrokerEndpoint> listeners, String rack,
    boolean fenced) implements MetadataRecord {
  public RegisterBrokerRecord {
    listeners = List.copyOf(listeners);
    rack = rack == null ? "" : rack;
  }
}
