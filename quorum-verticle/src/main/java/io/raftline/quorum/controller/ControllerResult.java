package io.raftline.quorum.controller;

import io.raftline.metadata.record.MetadataRecord;
import java.util.List;

/**
 * What a controller operation decided: the records to append (possibly none) and the response to
 * give once they have committed.
 *
 * @param atomic whether the records must reach the log as one batch (a topic and its partitions). A
 *     non-atomic result (a broker's fencing and the leadership moves it brings, one record per
 *     partition) may be split over several batches when it is larger than one batch may be, as Kafka's
 *     controller does; every prefix of it is a valid state
 */
public record ControllerResult<T>(List<MetadataRecord> records, T response, boolean atomic) {
  public ControllerResult {
    records = List.copyOf(records);
  }

  public ControllerResult(List<MetadataRecord> records, T response) {
    this(records, response, true);
  }

  /** A result whose records may be split over several batches (see {@link #atomic()}). */
  public static <T> ControllerResult<T> nonAtomic(List<MetadataRecord> records, T response) {
    return new ControllerResult<>(records, response, false);
  }
}
