package io.raftline.broker;

import io.raftline.broker.log.FlushPolicy;
import io.raftline.broker.log.PartitionLog;
import io.raftline.metadata.TopicPartition;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.protocol.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A partition this broker holds a replica of: its registration from the latest image and its log.
 * Every log operation runs on a worker thread, one after another in submission order, so the log
 * needs no lock and produce order is the order requests arrived on the event loop. All fields belong
 * to the broker's event loop (future callbacks run there).
 */
final class HostedPartition {
  private static final System.Logger LOG = System.getLogger(HostedPartition.class.getName());
  /** A blocking operation on the log, run on a worker. */
  interface LogTask<T> {
    T run(PartitionLog log) throws Exception;
  }

  final TopicPartition topicPartition;
  final UUID topicId;
  PartitionRegistration registration;
  /** The log end offset, as reported by the last task that changed it. */
  long endOffset;
  /** The log start offset, as reported by the last task that changed it. */
  long logStartOffset;
  /** The leader epoch of the log's last batch (or leadership), -1 if none: sent on follower fetches. */
  int latestEpoch = -1;
  /**
   * Offsets below this are on every in-sync replica: what consumers may read and acks=all waits for.
   * A leader computes it; a follower learns it from its leader.
   */
  long highWatermark;
  /** Follower positions and ISR proposals while this broker leads the partition; null otherwise. */
  InSyncReplicas leadership;
  /** acks=all produces waiting for the high watermark, in offset order (see {@link #awaitHighWatermark}). */
  private final java.util.ArrayDeque<PendingAck> pendingAcks = new java.util.ArrayDeque<>();
  /** The log dir holding the partition's directory, once the log opened; null before. */
  Path logDir;
  /** No ISR change is proposed before this time (after a refusal). */
  long isrRetryAtMs;
  private boolean open;
  private final Vertx vertx;
  private PartitionLog log;
  private Throwable openFailure;
  private boolean closed;
  /** A cleaning pass is between its plan and its swap. */
  private boolean cleaning;
  /**
   * The first dirty offset at which the cleaner's key map could not hold one segment's keys, or -1:
   * passes from there would stop at the same place, so none runs until the dirty range moves (as
   * Kafka's uncleanable partitions). Event loop only.
   */
  private long uncleanableFrom = -1;
  private Future<Void> tail;
  /** The fsync policy in force (read at each append, so a topic config change applies at once). */
  private final java.util.function.Supplier<FlushPolicy> flushPolicy;
  /** The last flush queued by the policy, until it completes; null if none. */
  private QueuedFlush queuedFlush;
  /** Fires flush.ms after the oldest append no flush covers yet; -1 if none is armed. */
  private long flushTimer = -1;
  /** Fsyncs run by the policy (for tests and diagnostics); written by the chain's tasks only. */
  volatile long policyFlushes;

  /** Finds (or picks) the partition's directory; runs on a worker. */
  interface DirLocator {
    Path locate() throws Exception;
  }

  /**
   * Opens the log once {@code after} completes, which lets a replaced partition of the same name
   * (a deleted and recreated topic) finish deleting its files first.
   */
  HostedPartition(Vertx vertx, TopicPartition topicPartition, UUID topicId, PartitionRegistration registration,
      Future<Void> after, DirLocator dir, io.raftline.broker.log.LogConfig logConfig) {
    this(vertx, topicPartition, topicId, registration, after, dir, logConfig, () -> FlushPolicy.NEVER);
  }

  /** As above, with the fsync policy the partition's appends follow. */
  HostedPartition(Vertx vertx, TopicPartition topicPartition, UUID topicId, PartitionRegistration registration,
      Future<Void> after, DirLocator dir, io.raftline.broker.log.LogConfig logConfig,
      java.util.function.Supplier<FlushPolicy> flushPolicy) {
    this(vertx, topicPartition, topicId, registration, after, dir, logConfig, flushPolicy, logDir -> -1);
  }

  /** The high watermark a log dir's replication-offset-checkpoint holds for this partition, or -1. */
  interface CheckpointedHighWatermark {
    long in(Path logDir);
  }

  /**
   * As above; the high watermark starts at {@code checkpointed}'s value for the log's directory,
   * bounded by the log (min with the end, never below the start), else at the log start.
   */
  HostedPartition(Vertx vertx, TopicPartition topicPartition, UUID topicId, PartitionRegistration registration,
      Future<Void> after, DirLocator dir, io.raftline.broker.log.LogConfig logConfig,
      java.util.function.Supplier<FlushPolicy> flushPolicy, CheckpointedHighWatermark checkpointed) {
    this.vertx = vertx;
    this.flushPolicy = flushPolicy;
    this.topicPartition = topicPartition;
    this.topicId = topicId;
    this.registration = registration;
    this.tail = after.recover(t -> Future.succeededFuture())
        .compose(v -> vertx.executeBlocking(() -> PartitionLog.open(dir.locate(), topicId, logConfig), false))
        .map(opened -> {
          log = opened;
          endOffset = opened.endOffset();
          logStartOffset = opened.startOffset();
          latestEpoch = opened.latestEpoch();
          logDir = opened.dir().toAbsolutePath().normalize().getParent();
          // Records below a checkpointed high watermark were on every in-sync replica when it was
          // written; a log cut shorter since (a torn tail) bounds it.
          long fromCheckpoint = Math.min(checkpointed.in(logDir), endOffset);
          highWatermark = Math.max(Math.max(highWatermark, fromCheckpoint), logStartOffset);
          open = true;
          return (Void) null;
        })
        .recover(t -> {
          openFailure = t;
          return Future.succeededFuture();
        });
  }

  /** An acks=all produce waiting until the high watermark reaches {@code requiredOffset}. */
  private static final class PendingAck {
    final long requiredOffset;
    final io.vertx.core.Promise<ErrorCode> promise = io.vertx.core.Promise.promise();
    long timerId = -1;

    PendingAck(long requiredOffset) {
      this.requiredOffset = requiredOffset;
    }
  }

  /**
   * Completes once the high watermark reaches {@code requiredOffset}, for records appended while
   * {@code appendedUnder} led the partition; or with the error that ended the wait. Event loop only.
   *
   * <p>If that leadership ended while the append ran on the worker, its end already failed every
   * waiting ack, and the records may be cut from the log since (a follower truncates to its new
   * leader's log): a later high watermark, this broker's own in a new leadership included, covers
   * other records at those offsets. So such records are never waited for: NOT_LEADER_OR_FOLLOWER.
   */
  Future<ErrorCode> awaitHighWatermark(InSyncReplicas appendedUnder, long requiredOffset, long timeoutMs) {
    if (leadership != appendedUnder) {
      return Future.succeededFuture(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    if (highWatermark >= requiredOffset) {
      return Future.succeededFuture(ErrorCode.NONE);
    }
    PendingAck ack = new PendingAck(requiredOffset);
    ack.timerId = vertx.setTimer(timeoutMs, id -> {
      pendingAcks.remove(ack);
      ack.promise.tryComplete(ErrorCode.REQUEST_TIMED_OUT);
    });
    pendingAcks.addLast(ack);
    return ack.promise.future();
  }

  /** Completes the acks the high watermark has passed. Event loop only. */
  void completeAcksBelowHighWatermark() {
    while (!pendingAcks.isEmpty() && pendingAcks.peekFirst().requiredOffset <= highWatermark) {
      PendingAck ack = pendingAcks.pollFirst();
      vertx.cancelTimer(ack.timerId);
      ack.promise.tryComplete(ErrorCode.NONE);
    }
  }

  /** Fails every waiting ack with {@code code} (the leadership they wait under ended). Event loop only. */
  void failPendingAcks(ErrorCode code) {
    while (!pendingAcks.isEmpty()) {
      PendingAck ack = pendingAcks.pollFirst();
      vertx.cancelTimer(ack.timerId);
      ack.promise.tryComplete(code);
    }
  }

  /** True once the log has opened (its offsets above are known) and until it closes. */
  boolean isOpen() {
    return open && !closed;
  }

  /**
   * Runs {@code task} after every task submitted before it; fails if the log is closed or never
   * opened. A task that appends past the flush policy's message interval completes only once a flush
   * covers it (as Kafka's append flushes before answering); the flush is queued behind whatever was
   * submitted meanwhile, so one fsync covers every append queued before it (group commit).
   */
  <T> Future<T> submit(LogTask<T> task) {
    if (closed) {
      return Future.failedFuture(new StorageException(topicPartition + " is no longer hosted on this broker"));
    }
    Future<Ran<T>> ran = tail.compose(ignored -> {
      if (log == null) {
        return Future.failedFuture(new StorageException("the log of " + topicPartition + " could not be opened: "
            + (openFailure == null ? "unknown error" : openFailure.getMessage())));
      }
      PartitionLog l = log;
      return vertx.executeBlocking(() -> {
        long endBefore = l.endOffset();
        T value = task.run(l);
        return new Ran<>(value, l.endOffset() > endBefore, l.unflushedMessages());
      }, false);
    });
    // The chain goes on whatever this task's outcome, and never waits for a flush it queues itself.
    tail = ran.<Void>mapEmpty().recover(t -> Future.succeededFuture());
    return ran.compose(r -> {
      if (!r.appended || closed) {
        return Future.succeededFuture(r.value);
      }
      FlushPolicy policy = flushPolicy.get();
      if (policy.dueByMessages(r.unflushedMessages)) {
        return queueFlush().map(r.value);
      }
      if (policy.timed() && !flushQueuedBehindRunTasks() && flushTimer < 0) {
        // The oldest append no flush covers yet.
        flushTimer = vertx.setTimer(Math.max(1, policy.intervalMs()), id -> {
          flushTimer = -1;
          queueFlush();
        });
      }
      return Future.succeededFuture(r.value);
    });
  }

  /** What a task returned, and whether it grew the log (then the flush policy is consulted). */
  private record Ran<T>(T value, boolean appended, long unflushedMessages) {}

  /** A policy flush: its outcome, and whether its task has begun on the chain. */
  private record QueuedFlush(Future<Void> done, AtomicBoolean started) {}

  /**
   * True if a queued flush has not started yet. Every task that has finished running is then ahead
   * of it in the chain (the chain is serial), so it covers them; this holds whatever order the
   * event loop sees completions in.
   */
  private boolean flushQueuedBehindRunTasks() {
    return queuedFlush != null && !queuedFlush.started().get();
  }

  /** A flush that covers every task that has finished running: a queued one not yet started, or a new one. */
  private Future<Void> queueFlush() {
    if (flushQueuedBehindRunTasks()) {
      return queuedFlush.done();
    }
    if (flushTimer >= 0) {
      vertx.cancelTimer(flushTimer);
      flushTimer = -1;
    }
    AtomicBoolean started = new AtomicBoolean();
    Future<Void> done = submit(l -> {
      started.set(true);
      if (l.unflushedMessages() > 0) {
        l.flush();
        policyFlushes++;
      }
      return null;
    });
    QueuedFlush flush = new QueuedFlush(done, started);
    queuedFlush = flush;
    done.onComplete(ar -> {
      if (queuedFlush == flush) {
        queuedFlush = null;
      }
      if (ar.failed()) {
        LOG.log(System.Logger.Level.WARNING, "flushing " + topicPartition + " failed", ar.cause());
      }
    });
    return done;
  }

  /** Runs on the cleaner's thread once a pass's cleaned segments are built, before the swap: a test hook. */
  interface CleanerHook {
    CleanerHook NONE = plan -> { };

    void built(PartitionLog.CleaningPlan plan) throws Exception;
  }

  /** What a cleaning pass of this partition needs to know. */
  record CleaningSettings(long nowMs, long deleteRetentionMs, double minCleanableDirtyRatio, long mapMemoryBytes) {}

  /**
   * One cleaning pass ({@code cleanup.policy=compact}), Kafka's way: planned by a short task on the
   * chain, built on {@code cleaner} (its own threads, so produce and fetch on this partition go on
   * meanwhile), then swapped in by another short task on the chain, which discards the work if the
   * log changed under it. At most one pass per partition runs at a time; a call meanwhile does nothing.
   */
  Future<PartitionLog.CompactionResult> clean(io.vertx.core.WorkerExecutor cleaner, CleaningSettings settings,
      CleanerHook hook) {
    if (cleaning || closed) {
      return Future.succeededFuture(PartitionLog.CompactionResult.NONE);
    }
    cleaning = true;
    // Records above the high watermark may still be truncated: they must not supersede anything.
    long cleanableBelow = highWatermark;
    return submit(l -> l.planCleaning(settings.nowMs(), settings.deleteRetentionMs(),
            settings.minCleanableDirtyRatio(), cleanableBelow))
        .compose(plan -> {
          if (plan == null || plan.firstDirtyOffset() == uncleanableFrom) {
            return Future.succeededFuture(PartitionLog.CompactionResult.NONE);
          }
          // Retention or a truncation moved the dirty range: the segment that did not fit may be gone.
          uncleanableFrom = -1;
          return cleaner.executeBlocking(() -> {
            PartitionLog.CleanedSegments built = PartitionLog.buildCleaned(plan, settings.mapMemoryBytes());
            try {
              hook.built(plan);
            } catch (Exception | Error e) {
              built.discard();
              throw e;
            }
            return built;
          }, false).compose(built -> {
            if (built.keyMapOverflowAt() >= 0) {
              uncleanableFrom = plan.firstDirtyOffset();
              LOG.log(System.Logger.Level.WARNING, topicPartition + ": the log cleaner's key map ("
                  + settings.mapMemoryBytes() + " bytes) filled at offset " + built.keyMapOverflowAt()
                  + ", inside the first dirty segment (from offset " + plan.firstDirtyOffset() + "); the partition "
                  + "is not cleaned past it (no record is lost) until log.cleaner.dedupe.buffer.size is raised "
                  + "(or log.cleaner.threads lowered) and the node restarted");
            }
            return submit(l -> l.swapIn(built))
                // Not swapped (the partition closed first): the files go, or the next open removes them.
                .recover(t -> vertx.executeBlocking(() -> {
                  built.discard();
                  return null;
                }, false).transform(ignored -> Future.failedFuture(t)));
          });
        })
        .onComplete(ar -> cleaning = false);
  }

  /** True while cleaning is stuck on a segment with more keys than the cleaner's key map holds. */
  boolean uncleanable() {
    return uncleanableFrom >= 0;
  }

  /** Closes the log after pending tasks; with {@code delete}, also removes its files. */
  Future<Void> close(boolean delete) {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    if (flushTimer >= 0) {
      vertx.cancelTimer(flushTimer);
      flushTimer = -1;
    }
    return tail.compose(ignored -> {
      if (log == null) {
        return Future.succeededFuture();
      }
      PartitionLog l = log;
      return vertx.executeBlocking(() -> {
        if (delete) {
          l.delete();
        } else {
          l.close();
        }
        return null;
      }, false);
    });
  }
}
