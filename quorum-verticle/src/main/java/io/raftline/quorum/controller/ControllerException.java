package io.raftline.quorum.controller;

import io.raftline.protocol.ErrorCode;

/** A request the controller refuses as a whole, with the Kafka-like code to answer. */
public final class ControllerException extends RuntimeException {
  private final ErrorCode errorCode;

  public ControllerException(ErrorCode errorCode, String message) {
    super(message);
    this.errorCode = errorCode;
  }

  public ErrorCode errorCode() {
    return errorCode;
  }
}
