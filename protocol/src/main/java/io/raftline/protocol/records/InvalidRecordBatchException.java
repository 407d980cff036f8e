package io.raftline.protocol.records;

import io.raftline.protocol.ErrorCode;

/** Bytes that are not a well-formed record batch; carries the Kafka-like error code to answer with. */
public final class InvalidRecordBatchException extends RuntimeException {
  private final ErrorCode errorCode;

  public InvalidRecordBatchException(ErrorCode errorCode, String message) {
    super(message);
    this.errorCode = errorCode;
  }

  public ErrorCode errorCode() {
    return errorCode;
  }
}
