package io.raftline.client;

import io.raftline.protocol.records.Header;
import java.util.List;

/** A record read from a partition. */
public record ConsumerRecord(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value,
    List<Header> headers) {}
