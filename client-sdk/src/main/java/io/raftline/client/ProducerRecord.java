package io.raftline.client;

import io.raftline.protocol.records.Header;
import java.util.List;
import java.util.Objects;

/**
 * A record to send. {@code partition} null lets the producer choose (by key hash, or sticky for null
 * keys); {@code timestamp} null means "now".
 */
public record ProducerRecord(String topic, Integer partition, byte[] key, byte[] value, Long timestamp,
    List<Header> headers) {
  public ProducerRecord {
    Objects.requireNonNull(topic, "topic");
    headers = headers == null ? List.of() : List.copyOf(headers);
  }

  public static ProducerRecord of(String topic, byte[] key, byte[] value) {
    return new ProducerRecord(topic, null, key, value, null, List.of());
  }
}
