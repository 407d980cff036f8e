package io.raftline.client;

/** Where an acknowledged record was stored. */
public record RecordMetadata(String topic, int partition, long offset, long timestamp) {}
