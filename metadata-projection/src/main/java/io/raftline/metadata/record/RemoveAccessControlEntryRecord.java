package io.raftline.metadata.record;

import java.util.UUID;

/** An ACL was removed. */
public record RemoveAccessControlEntryRecord(UUID id) implements MetadataRecord {}
