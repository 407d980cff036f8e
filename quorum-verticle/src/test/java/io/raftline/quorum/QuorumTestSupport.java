package io.raftline.quorum;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.QuorumVoter;
import io.raftline.protocol.LoopbackPorts;
import io.raftline.protocol.controller.ControllerClient;
import io.raftline.protocol.controller.ControllerGrpcClient;
import io.raftline.quorum.controller.ControllerConfig;
import io.raftline.quorum.raft.RaftRole;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting with deadlines, free loopback ports and a sole voter, for the quorum verticle tests. */
final class QuorumTestSupport {
  static final long TIMEOUT_MS = 30_000;
  static final String CLUSTER_ID = "AAAAAAAAAAAAAAAAAAAAAA";

  private QuorumTestSupport() {}

  /**
   * A free port below the kernel's ephemeral range (see {@link LoopbackPorts}). A port from bind(0)
   * could be taken, between its choosing and the voter's bind, as the local port of another voter's
   * outgoing connection: QuorumClusterTest failed once in a clean-clone CI run with "Address already
   * in use" as its first voter dialled the two not yet listening.
   */
  static int freePort() throws IOException {
    return LoopbackPorts.one();
  }

  /** The future's result, failing the test if it fails or has no outcome within the timeout. */
  static <T> T await(Future<T> f) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    f.onComplete(ar -> done.countDown());
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "no outcome in time");
    if (f.failed()) {
      throw new AssertionError(f.cause());
    }
    return f.result();
  }

  static void waitUntil(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(10);
    }
  }

  /**
   * A one-voter quorum with its metadata log under {@code dir}, deployed and leading; its image is
   * published on the event bus at {@code test.metadata}. Port 0: a sole voter never connects to itself.
   */
  static QuorumVerticle startSoleVoter(Vertx vertx, Path dir, ControllerConfig controller) throws Exception {
    QuorumConfig config = new QuorumConfig(1, List.of(new QuorumVoter(1, "127.0.0.1", 0)), "127.0.0.1", 0,
        dir.resolve("__cluster_metadata-0"), CLUSTER_ID, "test.metadata", 300, 1000, controller);
    QuorumVerticle q = new QuorumVerticle(config);
    await(vertx.deployVerticle(q));
    waitUntil("the sole voter leads", () -> q.status().role() == RaftRole.LEADER);
    return q;
  }

  /** A controller client of {@code q}'s gRPC port. */
  static ControllerClient controllerClient(Vertx vertx, QuorumVerticle q) {
    return ControllerGrpcClient.create(GrpcClient.client(vertx), SocketAddress.inetSocketAddress(q.port(), "127.0.0.1"));
  }
}
