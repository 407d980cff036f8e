package io.raftline.metadata.record;

/** A block of producer ids was handed out: every id below {@code nextProducerId} is taken. */
public record ProducerIdsRecord(int brokerId, long brokerEpoch, long nextProducerId) implements MetadataRecord {}
