package io.raftline.broker.group;

import io.vertx.core.Future;
import java.util.List;
import java.util.Optional;

/**
 * What {@link GroupCoordinatorApi} needs from the broker that hosts it: the log of
 * {@code __consumer_offsets} and a view of the metadata image. Every method is called on the Api's
 * context, and every returned future may complete on any thread (the Api hops back to its context).
 */
public interface CoordinatorContext {
  /**
   * Appends key/value records (value null = tombstone) to {@code __consumer_offsets} partition
   * {@code partition}, which this broker leads; completes when they are committed (acks=all, i.e. at
   * the high watermark), fails if they cannot be (leadership lost, not enough replicas, timeout).
   * Appends to one partition are expected to complete in the order they were made, as the log's do.
   */
  Future<Void> append(int partition, List<OffsetRecord> records);

  /**
   * Every record of {@code partition} from its log start up to its end, in offset order (compaction
   * may have removed superseded ones), to load the groups of a partition this broker now leads.
   */
  Future<List<OffsetRecord>> readAll(int partition);

  /**
   * The number of partitions of {@code __consumer_offsets} ({@code offsets.topic.num.partitions},
   * {@link GroupCoordinator#DEFAULT_OFFSETS_PARTITIONS} by default). Read once: it must not change.
   */
  int offsetsPartitions();

  /** The leader of {@code __consumer_offsets} partition {@code partition}, or empty if none is known. */
  Optional<CoordinatorNode> coordinatorOf(int partition);

  int localNodeId();

  /** The partition count of {@code topic} in the current metadata image, or -1 if it does not exist. */
  int partitionCount(String topic);
}
