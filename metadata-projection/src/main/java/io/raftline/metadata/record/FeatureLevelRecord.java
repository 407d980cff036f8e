package io.raftline.metadata.record;

/** The finalized level of a feature; level 0 removes it. */
public record FeatureLevelRecord(String name, int level) implements MetadataRecord {}
