package io.raftline.protocol;

/** A gRPC call that failed on the wire, with the gRPC status code it was (or is to be) answered with. */
public final class GrpcWireException extends RuntimeException {
  public static final int UNKNOWN = 2;
  public static final int INVALID_ARGUMENT = 3;
  public static final int PERMISSION_DENIED = 7;
  public static final int RESOURCE_EXHAUSTED = 8;
  public static final int UNIMPLEMENTED = 12;
  public static final int INTERNAL = 13;
  public static final int UNAVAILABLE = 14;
  public static final int UNAUTHENTICATED = 16;

  private final int status;

  public GrpcWireException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** The gRPC status code. */
  public int status() {
    return status;
  }
}
