package io.raftline.metadata.image;

import io.raftline.metadata.record.BrokerEndpoint;
import java.util.List;
import java.util.Optional;

/**
 * A registered broker as the image knows it. A fenced broker may not lead partitions or count as an
 * in-sync replica: it has not caught up since registering, or it stopped heartbeating.
 */
public record BrokerRegistration(
    int id, String incarnationId, long epoch, List<BrokerEndpoint> listeners, String rack, boolean fenced) {
  public BrokerRegistration {
    listeners = List.copyOf(listeners);
  }

  public Optional<BrokerEndpoint> listener(String name) {
    return listeners.stream().filter(l -> l.listenerName().equals(name)).findFirst();
  }

  public BrokerRegistration withFenced(boolean fenced) {
    return new BrokerRegistration(id, incarnationId, epoch, listeners, rack, fenced);
  }
}
