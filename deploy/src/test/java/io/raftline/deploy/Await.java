package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Waiting in this module's tests, always with a deadline: for a future's outcome, or for a condition
 * polled until it holds (never a fixed sleep standing in for one).
 */
final class Await {
  static final long TIMEOUT_MS = 30_000;

  private Await() {}

  /** The future's result; fails the test if it fails or has no outcome within {@link #TIMEOUT_MS}. */
  static <T> T await(Future<T> f) throws InterruptedException {
    outcome(f);
    if (f.failed()) {
      throw new AssertionError("future failed: " + f.cause(), f.cause());
    }
    return f.result();
  }

  /** The future's failure; fails the test if it succeeds or has no outcome in time. */
  static Throwable failureOf(Future<?> f) throws InterruptedException {
    outcome(f);
    assertTrue(f.failed(), "expected a failure, got " + f.result());
    return f.cause();
  }

  private static void outcome(Future<?> f) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    f.onComplete(ar -> done.countDown());
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "no outcome within " + TIMEOUT_MS + " ms");
  }

  /** A condition to poll; it may throw (a failed read is a test failure, not a "not yet"). */
  @FunctionalInterface
  interface Condition {
    boolean holds() throws Exception;
  }

  /** What a test reports of the state it waits on when the wait times out; it may throw too. */
  @FunctionalInterface
  interface State {
    String now() throws Exception;
  }

  /** Polls {@code condition} until it holds; fails the test after {@link #TIMEOUT_MS}. */
  static void waitFor(String what, Condition condition) throws Exception {
    waitFor(what, TIMEOUT_MS, condition, () -> "");
  }

  /**
   * Polls {@code condition} until it holds; fails the test after {@code timeoutMs}, saying what
   * {@code state} reports then.
   */
  static void waitFor(String what, long timeoutMs, Condition condition, State state) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (!condition.holds()) {
      if (System.nanoTime() >= deadline) {
        String now;
        try {
          now = state.now();
        } catch (Exception e) {
          now = "state unreadable: " + e;
        }
        throw new AssertionError("timed out waiting for " + what + (now.isEmpty() ? "" : "; " + now));
      }
      Thread.sleep(10);
    }
  }
}
