package io.raftline.client;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting in the SDK's tests: for a future's outcome, or for a condition, always with a deadline. */
final class Await {
  static final long TIMEOUT_MS = 30_000;

  private Await() {}

  /** The future's result; fails the test if it fails or has no outcome within {@link #TIMEOUT_MS}. */
  static <T> T await(Future<T> f) throws InterruptedException {
    return await(f, TIMEOUT_MS);
  }

  static <T> T await(Future<T> f, long timeoutMs) throws InterruptedException {
    outcome(f, timeoutMs);
    if (f.failed()) {
      throw new AssertionError("future failed: " + f.cause(), f.cause());
    }
    return f.result();
  }

  /** The future's failure; fails the test if it succeeds or has no outcome in time. */
  static Throwable awaitFailure(Future<?> f) throws InterruptedException {
    outcome(f, TIMEOUT_MS);
    assertTrue(f.failed(), "expected a failure, got " + f.result());
    return f.cause();
  }

  private static void outcome(Future<?> f, long timeoutMs) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    f.onComplete(ar -> done.countDown());
    assertTrue(done.await(timeoutMs, TimeUnit.MILLISECONDS), "no outcome within " + timeoutMs + " ms");
  }

  /** Polls {@code condition} until it holds; fails the test after {@link #TIMEOUT_MS}. */
  static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(10);
    }
  }
}
