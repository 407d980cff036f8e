package io.raftline.broker.log;

/**
 * Per-partition storage settings.
 *
 * @param segmentBytes roll the active segment before an append would take it past this size
 *     (at most {@link Integer#MAX_VALUE}, because index entries hold 4-byte file positions)
 * @param segmentMs roll the active segment once it is this old, measured with the clock the caller
 *     passes to {@link PartitionLog#append(java.util.List, int, long)}
 * @param indexIntervalBytes add an offset index entry once this many bytes were appended since the
 *     last one; smaller means faster lookups and bigger index files
 */
public record LogConfig(long segmentBytes, long segmentMs, int indexIntervalBytes) {
  public static final long DEFAULT_SEGMENT_BYTES = 1L << 30;
  public static final long DEFAULT_SEGMENT_MS = 7L * 24 * 60 * 60 * 1000;
  public static final int DEFAULT_INDEX_INTERVAL_BYTES = 4096;
  public static final LogConfig DEFAULT =
      new LogConfig(DEFAULT_SEGMENT_BYTES, DEFAULT_SEGMENT_MS, DEFAULT_INDEX_INTERVAL_BYTES);

  public LogConfig {
    if (segmentBytes <= 0 || segmentBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("segment.bytes must be in 1.." + Integer.MAX_VALUE + ": " + segmentBytes);
    }
    if (segmentMs <= 0) {
      throw new IllegalArgumentException("segment.ms must be positive: " + segmentMs);
    }
    if (indexIntervalBytes <= 0) {
      throw new IllegalArgumentException("index.interval.bytes must be positive: " + indexIntervalBytes);
    }
  }

  public LogConfig withSegmentBytes(long bytes) {
    return new LogConfig(bytes, segmentMs, indexIntervalBytes);
  }

  public LogConfig withSegmentMs(long ms) {
    return new LogConfig(segmentBytes, ms, indexIntervalBytes);
  }

  public LogConfig withIndexIntervalBytes(int bytes) {
    return new LogConfig(segmentBytes, segmentMs, bytes);
  }
}
