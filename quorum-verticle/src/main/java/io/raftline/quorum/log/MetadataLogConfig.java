package io.raftline.quorum.log;

/**
 * Settings of a {@link MetadataLog}.
 *
 * @param segmentBytes a segment is rolled (a new file started) when the next batch would take the active
 *     segment past this size; Kafka's {@code metadata.log.segment.bytes}. A single batch larger than this
 *     still goes into one (fresh) segment: batches are never split across files.
 */
public record MetadataLogConfig(long segmentBytes) {

  /** 64 MiB: large enough that rolling (one extra fsync) is rare, small enough to delete cheaply after a snapshot. */
  public static final long DEFAULT_SEGMENT_BYTES = 64L * 1024 * 1024;

  public MetadataLogConfig {
    if (segmentBytes <= 0) {
      throw new IllegalArgumentException("segmentBytes must be > 0, got " + segmentBytes);
    }
  }

  /** The default configuration: {@link #DEFAULT_SEGMENT_BYTES} per segment. */
  public static MetadataLogConfig defaults() {
    return new MetadataLogConfig(DEFAULT_SEGMENT_BYTES);
  }
}
