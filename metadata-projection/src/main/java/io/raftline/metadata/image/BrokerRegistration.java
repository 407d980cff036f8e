package io.raftline.metadata.image;

import io.raftline.metadata.record.BrokerEndpoint;
import java.util.List;
import java.util.Optional;

/** A registered broker as the image knows it. */
public record BrokerRegistration(
    int id, String incarnationId, long epoch, List<BrokerEndpoint> listeners, String rack) {
  public BrokerRegistration {
    listeners = List.copyOf(listeners);
  }

  public Optional<BrokerEndpoint> listener(String name) {
    return listeners.stream().filter(l -> l.listenerName().equals(name)).findFirst();
  }
}
