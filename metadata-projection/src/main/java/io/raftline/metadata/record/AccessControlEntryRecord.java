package io.raftline.metadata.record;

import java.util.UUID;

/** An ACL: who ({@code principal} from {@code host}) may or may not do {@code operation} on a resource. */
public record AccessControlEntryRecord(UUID id, String resourceType, String resourceName, String patternType,
    String principal, String host, String operation, String permissionType) implements MetadataRecord {}
