package io.raftline.metadata.record;

/** A broker caught up with the metadata log and heartbeats: it may lead and host replicas. */
public record UnfenceBrokerRecord(int brokerId, long brokerEpoch) implements MetadataRecord {}
