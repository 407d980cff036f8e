package io.raftline.metadata.record;

import java.util.UUID;

/** A topic and all its partitions were deleted. */
public record RemoveTopicRecord(UUID topicId) implements MetadataRecord {}
