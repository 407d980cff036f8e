package io.raftline.broker;

import io.raftline.metadata.QuorumVoter;
import java.nio.file.Path;
import java.util.List;

/**
 * What a broker needs to run; the launcher builds it from Kafka-style properties.
 *
 * @param nodeId {@code node.id}
 * @param listenerName the client listener's name, e.g. PLAINTEXT
 * @param host the client listener's host
 * @param port the client listener's port; 0 picks a free one
 * @param logDirs {@code log.dirs}
 * @param voters {@code controller.quorum.voters}, where registration and topic changes go
 * @param metadataAddress the local event-bus address on which this node's metadata updates arrive
 * @param maxMessageBytes {@code message.max.bytes}: the largest record batch accepted
 * @param clusterId the formatted cluster id, sent with the registration
 * @param rack {@code broker.rack}, empty if unset
 * @param heartbeatIntervalMs {@code broker.heartbeat.interval.ms}
 * @param retentionCheckIntervalMs {@code log.retention.check.interval.ms}: how often retention runs over
 *     the hosted partitions
 * @param replicaLagTimeMaxMs {@code replica.lag.time.max.ms}: a follower not caught up for this long
 *     leaves the ISR
 * @param replicaFetchWaitMaxMs {@code replica.fetch.wait.max.ms}: how long a follower's fetch waits
 *     at the leader for new records
 * @param replicaFetchMaxBytes {@code replica.fetch.max.bytes}: bytes per partition a follower asks for
 * @param offsetsTopicPartitions {@code offsets.topic.num.partitions}: partitions of {@code __consumer_offsets}
 * @param offsetsTopicReplicationFactor {@code offsets.topic.replication.factor}: its replication factor
 *     (fewer if fewer brokers are available when it is created)
 * @param logFlushIntervalMessages {@code log.flush.interval.messages}: fsync a partition's log after this
 *     many messages since its last flush, unless its topic sets {@code flush.messages}; Long.MAX_VALUE: off
 * @param logFlushIntervalMs {@code log.flush.interval.ms}: fsync once the oldest unflushed append is this
 *     old, unless its topic sets {@code flush.ms}; Long.MAX_VALUE: off
 * @param highWatermarkCheckpointIntervalMs {@code replica.high.watermark.checkpoint.interval.ms}: how often
 *     changed high watermarks are written to each log dir's {@code replication-offset-checkpoint}
 * @param maxFetchSessions {@code max.incremental.fetch.session.cache.slots}: incremental fetch sessions
 *     (KIP-227) kept for the brokers and clients fetching from this one; 0: none, every fetch is full
 * @param cleaner the {@code log.cleaner.*} settings: compaction of {@code cleanup.policy=compact} topics
 */
public record BrokerConfig(
    int nodeId,
    String listenerName,
    String host,
    int port,
    List<Path> logDirs,
    List<QuorumVoter> voters,
    String metadataAddress,
    int maxMessageBytes,
    String clusterId,
    String rack,
    long heartbeatIntervalMs,
    long retentionCheckIntervalMs,
    long replicaLagTimeMaxMs,
    long replicaFetchWaitMaxMs,
    int replicaFetchMaxBytes,
    int offsetsTopicPartitions,
    int offsetsTopicReplicationFactor,
    Advertised advertised,
    long logFlushIntervalMessages,
    long logFlushIntervalMs,
    long highWatermarkCheckpointIntervalMs,
    int maxFetchSessions,
    Cleaner cleaner) {

  /** Where clients and other brokers reach this broker when that is not where it binds (a proxy, NAT). */
  public record Advertised(String host, int port) {
    public Advertised {
      if (host == null || host.isEmpty() || port < 1 || port > 65535) {
        throw new IllegalArgumentException("an advertised listener needs a host and a port in 1..65535");
      }
    }
  }

  /**
   * The log cleaner's settings, with Kafka's names and defaults.
   *
   * @param enable {@code log.cleaner.enable}: off, compacted topics are never cleaned
   * @param threads {@code log.cleaner.threads}: passes that may build at once (over all partitions)
   * @param dedupeBufferSize {@code log.cleaner.dedupe.buffer.size}: the key maps' memory, shared by the
   *     threads as in Kafka (each pass's map gets this divided by {@code threads})
   * @param minCleanableRatio {@code log.cleaner.min.cleanable.ratio}: the default of a topic's
   *     {@code min.cleanable.dirty.ratio}
   * @param backoffMs {@code log.cleaner.backoff.ms}: how often the cleaner looks for partitions to clean
   */
  public record Cleaner(boolean enable, int threads, long dedupeBufferSize, double minCleanableRatio,
      long backoffMs) {
    /** Kafka's floor for log.cleaner.dedupe.buffer.size, here per thread: below it a map holds few keys. */
    public static final long MIN_DEDUPE_BUFFER_BYTES_PER_THREAD = 1L << 20;
    public static final Cleaner DEFAULT =
        new Cleaner(true, 1, io.raftline.broker.log.PartitionLog.DEFAULT_CLEANER_MAP_BYTES, 0.5, 15_000);

    public Cleaner {
      if (threads < 1) {
        throw new IllegalArgumentException("log.cleaner.threads must be >= 1; got " + threads);
      }
      if (dedupeBufferSize / threads < MIN_DEDUPE_BUFFER_BYTES_PER_THREAD) {
        throw new IllegalArgumentException("log.cleaner.dedupe.buffer.size must be at least "
            + MIN_DEDUPE_BUFFER_BYTES_PER_THREAD + " bytes per cleaner thread (log.cleaner.threads=" + threads
            + "); got " + dedupeBufferSize);
      }
      // Written so that NaN fails too.
      if (!(minCleanableRatio >= 0 && minCleanableRatio <= 1)) {
        throw new IllegalArgumentException("log.cleaner.min.cleanable.ratio must be between 0 and 1; got "
            + minCleanableRatio);
      }
      if (backoffMs < 1) {
        throw new IllegalArgumentException("log.cleaner.backoff.ms must be >= 1; got " + backoffMs);
      }
    }

    /** The key map memory one pass may hold. */
    public long mapBytesPerPass() {
      return dedupeBufferSize / threads;
    }
  }

  public static final int DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
  public static final long DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000;
  public static final long DEFAULT_RETENTION_CHECK_INTERVAL_MS = 300_000;
  public static final long DEFAULT_REPLICA_LAG_TIME_MAX_MS = 30_000;
  public static final long DEFAULT_REPLICA_FETCH_WAIT_MAX_MS = 500;
  public static final int DEFAULT_REPLICA_FETCH_MAX_BYTES = 1_048_576;
  public static final int DEFAULT_OFFSETS_TOPIC_PARTITIONS = 50;
  public static final int DEFAULT_OFFSETS_TOPIC_REPLICATION_FACTOR = 3;
  public static final long DEFAULT_LOG_FLUSH_INTERVAL_MESSAGES = Long.MAX_VALUE;
  public static final long DEFAULT_LOG_FLUSH_INTERVAL_MS = Long.MAX_VALUE;
  public static final long DEFAULT_HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS = 5_000;
  public static final int DEFAULT_MAX_FETCH_SESSIONS = 1_000;

  public BrokerConfig(int nodeId, String listenerName, String host, int port, List<Path> logDirs,
      List<QuorumVoter> voters, String metadataAddress, int maxMessageBytes, String clusterId, String rack) {
    this(nodeId, listenerName, host, port, logDirs, voters, metadataAddress, maxMessageBytes, clusterId, rack,
        DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_RETENTION_CHECK_INTERVAL_MS, DEFAULT_REPLICA_LAG_TIME_MAX_MS,
        DEFAULT_REPLICA_FETCH_WAIT_MAX_MS, DEFAULT_REPLICA_FETCH_MAX_BYTES, DEFAULT_OFFSETS_TOPIC_PARTITIONS,
        DEFAULT_OFFSETS_TOPIC_REPLICATION_FACTOR, null, DEFAULT_LOG_FLUSH_INTERVAL_MESSAGES,
        DEFAULT_LOG_FLUSH_INTERVAL_MS, DEFAULT_HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS, DEFAULT_MAX_FETCH_SESSIONS,
        Cleaner.DEFAULT);
  }

  public BrokerConfig {
    logDirs = List.copyOf(logDirs);
    voters = List.copyOf(voters);
    if (logDirs.isEmpty()) {
      throw new IllegalArgumentException("log.dirs must name at least one directory");
    }
    if (replicaLagTimeMaxMs <= 0 || replicaFetchWaitMaxMs < 0 || replicaFetchMaxBytes <= 0) {
      throw new IllegalArgumentException("replica.lag.time.max.ms and replica.fetch.max.bytes must be > 0, "
          + "replica.fetch.wait.max.ms >= 0");
    }
    if (offsetsTopicPartitions < 1 || offsetsTopicReplicationFactor < 1) {
      throw new IllegalArgumentException("offsets.topic.num.partitions and offsets.topic.replication.factor must be >= 1");
    }
    if (logFlushIntervalMessages < 1 || logFlushIntervalMs < 0 || highWatermarkCheckpointIntervalMs < 1) {
      throw new IllegalArgumentException("log.flush.interval.messages and replica.high.watermark.checkpoint.interval.ms "
          + "must be >= 1, log.flush.interval.ms >= 0");
    }
    if (maxFetchSessions < 0) {
      throw new IllegalArgumentException("max.incremental.fetch.session.cache.slots must be >= 0; got "
          + maxFetchSessions);
    }
    java.util.Objects.requireNonNull(cleaner, "cleaner");
    if (voters.isEmpty()) {
      throw new IllegalArgumentException("controller.quorum.voters must name at least one voter");
    }
  }
}
