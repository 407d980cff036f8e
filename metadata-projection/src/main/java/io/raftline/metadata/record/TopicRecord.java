package io.raftline.metadata.record;

import java.util.UUID;

/** A topic was created; its partitions follow as {@link PartitionRecord}s. */
public record TopicRecord(String name, UUID topicId) implements MetadataRecord {}
