package io.raftline.metadata.record;

/**
 * A record that changes nothing. The Raft leader writes one at the start of its epoch (as an empty
 * payload) so the high watermark can advance over an entry of its own epoch.
 */
public record NoOpRecord() implements MetadataRecord {
  public static final NoOpRecord INSTANCE = new NoOpRecord();
}
