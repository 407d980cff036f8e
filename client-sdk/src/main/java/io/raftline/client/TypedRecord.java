package io.raftline.client;

import io.raftline.protocol.records.Header;
import java.util.List;

/** A record read from a partition, with its key and value deserialised. */
public record TypedRecord<K, V>(String topic, int partition, long offset, long timestamp, K key, V value,
    List<Header> headers) {}
