package io.raftline.metadata.record;

/**
 * One event in the metadata log. Each type says what happened; replaying them in log order rebuilds
 * the cluster's metadata image.
 */
public sealed interface MetadataRecord
    permits RegisterBrokerRecord, UnregisterBrokerRecord, FenceBrokerRecord, UnfenceBrokerRecord, TopicRecord,
        PartitionRecord, PartitionChangeRecord, RemoveTopicRecord, ConfigRecord, ProducerIdsRecord,
        FeatureLevelRecord, AccessControlEntryRecord, RemoveAccessControlEntryRecord, ClientQuotaRecord, NoOpRecord {}
