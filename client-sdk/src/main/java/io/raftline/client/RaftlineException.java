package io.raftline.client;

import io.raftline.protocol.ErrorCode;

/** A request the cluster refused, with Kafka's error code for the reason. */
public class RaftlineException extends RuntimeException {
  private final ErrorCode errorCode;

  public RaftlineException(ErrorCode errorCode, String message) {
    super(errorCode + ": " + message);
    this.errorCode = errorCode;
  }

  public ErrorCode errorCode() {
    return errorCode;
  }

  /** Errors that may clear up by themselves (leadership moving, a topic still being created). */
  public static boolean isRetriable(ErrorCode code) {
    return switch (code) {
      case NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT,
          NOT_ENOUGH_REPLICAS, NOT_CONTROLLER, KAFKA_STORAGE_ERROR -> true;
      default -> false;
    };
  }
}
