package io.raftline.protocol;

import io.vertx.core.Completable;

/**
 * The boundary between a server's answer and the gRPC transport. A caller that gives up (its
 * deadline passed, it disconnected, it was killed) cancels its stream, and the generated service
 * code then throws when it writes the late answer: IllegalStateException on a cancelled stream,
 * and in Vert.x 5.0.7 a NullPointerException from inside the HTTP/2 stream once the connection is
 * closed. That throw happens on the stack of whoever
 * completed the answer: a loop releasing acks=all produces or long-polled fetches, a commit callback.
 * It must not unwind into them; the answer simply has nobody left to read it.
 */
public final class Answers {
  private static final System.Logger LOG = System.getLogger(Answers.class.getName());

  private Answers() {
  }

  /**
   * Wraps the transport's completion of one call so that a failure to write the answer (the caller
   * is gone) is dropped with a debug line instead of thrown at the completer.
   */
  public static <T> Completable<T> toCaller(String method, Completable<T> transport) {
    return (result, failure) -> {
      try {
        transport.complete(result, failure);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.DEBUG, () -> method + ": answer dropped, the caller went away (" + e + ")");
      }
    };
  }
}
