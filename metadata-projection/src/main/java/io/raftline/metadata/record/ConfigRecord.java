package io.raftline.metadata.record;

/** Sets one configuration key of a resource; a null value deletes the key (back to its default). */
public record ConfigRecord(ConfigResource resource, String name, String value) implements MetadataRecord {}
