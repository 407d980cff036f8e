package io.raftline.metadata.record;

/** A broker left the cluster for good (its registration of that epoch is removed). */
public record UnregisterBrokerRecord(int brokerId, long brokerEpoch) implements MetadataRecord {}
