package io.raftline.quorum.controller;

import io.raftline.metadata.record.MetadataRecord;
import java.util.List;

/**
 * What a controller operation decided: the records to append (possibly none) and the response to
 * give once they have committed.
 */
public record ControllerResult<T>(List<MetadataRecord> records, T response) {
  public ControllerResult {
    records = List.copyOf(records);
  }
}
