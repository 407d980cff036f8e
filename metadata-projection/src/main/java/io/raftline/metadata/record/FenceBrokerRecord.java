package io.raftline.metadata.record;

/** A broker stopped heartbeating (or shut down): it may not lead partitions or serve as a replica. */
public record FenceBrokerRecord(int brokerId, long brokerEpoch) implements MetadataRecord {}
