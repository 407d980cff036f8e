package io.raftline.broker;

import io.raftline.broker.log.PartitionLog;
import io.raftline.metadata.TopicPartition;
import io.raftline.metadata.image.PartitionRegistration;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.UUID;

/**
 * A partition this broker holds a replica of: its registration from the latest image and its log.
 * Every log operation runs on a worker thread, one after another in submission order, so the log
 * needs no lock and produce order is the order requests arrived on the event loop. All fields belong
 * to the broker's event loop (future callbacks run there).
 */
final class HostedPartition {
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
  /** acks=all produces waiting for the high watermark, in offset order. */
  final java.util.ArrayDeque<PendingAck> pendingAcks = new java.util.ArrayDeque<>();
  /** No ISR change is proposed before this time (after a refusal). */
  long isrRetryAtMs;
  private boolean open;
  private final Vertx vertx;
  private PartitionLog log;
  private Throwable openFailure;
  private boolean closed;
  private Future<Void> tail;

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
    this.vertx = vertx;
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
          highWatermark = Math.max(highWatermark, logStartOffset);
          open = true;
          return (Void) null;
        })
        .recover(t -> {
          openFailure = t;
          return Future.succeededFuture();
        });
  }

  /** An acks=all produce waiting until the high watermark reaches {@code requiredOffset}. */
  static final class PendingAck {
    final long requiredOffset;
    final io.vertx.core.Promise<io.raftline.protocol.ErrorCode> promise = io.vertx.core.Promise.promise();
    long timerId = -1;

    PendingAck(long requiredOffset) {
      this.requiredOffset = requiredOffset;
    }
  }

  /** True once the log has opened (its offsets above are known) and until it closes. */
  boolean isOpen() {
    return open && !closed;
  }

  /** Runs {@code task} after every task submitted before it; fails if the log is closed or never opened. */
  <T> Future<T> submit(LogTask<T> task) {
    if (closed) {
      return Future.failedFuture(new StorageException(topicPartition + " is no longer hosted on this broker"));
    }
    Future<T> result = tail.compose(ignored -> {
      if (log == null) {
        return Future.failedFuture(new StorageException("the log of " + topicPartition + " could not be opened: "
            + (openFailure == null ? "unknown error" : openFailure.getMessage())));
      }
      PartitionLog l = log;
      return vertx.executeBlocking(() -> task.run(l), false);
    });
    // The chain goes on whatever this task's outcome.
    tail = result.<Void>mapEmpty().recover(t -> Future.succeededFuture());
    return result;
  }

  /** Closes the log after pending tasks; with {@code delete}, also removes its files. */
  Future<Void> close(boolean delete) {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
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
