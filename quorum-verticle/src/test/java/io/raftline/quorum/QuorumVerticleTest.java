package io.raftline.quorum;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.QuorumVoter;
import io.raftline.metadata.record.FenceBrokerRecord;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.protocol.ErrorCode;
import io.raftline.quorum.controller.ControllerConfig;
import io.raftline.quorum.controller.ControllerException;
import io.raftline.quorum.log.CorruptLogException;
import io.raftline.quorum.raft.RaftRole;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One voter: the append API, refusal of records that cannot apply, restart from disk, corruption. */
class QuorumVerticleTest {
  private static final long TIMEOUT_MS = 30_000;
  @TempDir Path dir;
  private Vertx vertx;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() throws Exception {
    settle(vertx.close());
  }

  private static <T> Future<T> settle(Future<T> f) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    f.onComplete(ar -> done.countDown());
    assertTrue(done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "no outcome in time");
    return f;
  }

  private static <T> T await(Future<T> f) throws InterruptedException {
    settle(f);
    if (f.failed()) {
      throw new AssertionError(f.cause());
    }
    return f.result();
  }

  private QuorumConfig config() {
    // Port 0: a single voter never connects to itself.
    return new QuorumConfig(1, List.of(new QuorumVoter(1, "127.0.0.1", 0)), "127.0.0.1", 0,
        dir.resolve("__cluster_metadata-0"), "AAAAAAAAAAAAAAAAAAAAAA", "test.metadata", 300, 1000,
        ControllerConfig.defaults());
  }

  private QuorumVerticle startLeader() throws Exception {
    QuorumVerticle q = new QuorumVerticle(config());
    await(vertx.deployVerticle(q));
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (q.status().role() != RaftRole.LEADER) {
      assertTrue(System.currentTimeMillis() < deadline, "a sole voter elects itself");
      Thread.sleep(10);
    }
    return q;
  }

  private static RegisterBrokerRecord broker(int id) {
    return new RegisterBrokerRecord(id, "inc-" + id, 0, List.of(), "", false);
  }

  @Test
  void appendsCommitSurviveARestartAndBadRecordsAreRefused() throws Exception {
    QuorumVerticle q = startLeader();
    List<Future<Long>> appends = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      appends.add(q.append(List.of(broker(i))));
    }
    long last = -1;
    for (Future<Long> f : appends) {
      long offset = await(f);
      assertTrue(offset > last, "commit offsets follow append order");
      last = offset;
    }
    long committedEnd = q.status().highWatermark();

    MetadataRecord orphan = new PartitionRecord(UUID.randomUUID(), 0, List.of(1), List.of(1), 1, 0, 0);
    Future<Long> refused = settle(q.append(List.of(orphan)));
    ControllerException e = assertInstanceOf(ControllerException.class, refused.cause());
    assertEquals(ErrorCode.INVALID_REQUEST, e.errorCode());
    assertEquals(committedEnd, q.status().logEndOffset(), "nothing was appended for the refused record");
    assertEquals(false, q.status().halted());

    await(vertx.undeploy(q.deploymentID()));
    QuorumVerticle again = startLeader();
    long target = last;
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (again.status().appliedOffset() < target) {
      assertTrue(System.currentTimeMillis() < deadline, "the restarted voter replays its log");
      Thread.sleep(10);
    }
    assertTrue(again.status().epoch() > 1, "a restart begins a new epoch");
  }

  @Test
  void aRefusedDecisionLeavesNoTraceOnTheDecisionsQueuedWithIt() throws Exception {
    QuorumVerticle q = startLeader();
    // Queued faster than the event loop takes them, so they share turns (and one open delta): the
    // refused decision's first record must come off that delta again, not just off the log.
    List<Future<Long>> good = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      good.add(q.append(List.of(broker(i))));
    }
    MetadataRecord orphan = new PartitionRecord(UUID.randomUUID(), 0, List.of(1), List.of(1), 1, 0, 0);
    Future<Long> refused = q.append(List.of(broker(1000), orphan));
    for (int i = 300; i < 600; i++) {
      good.add(q.append(List.of(broker(i))));
    }
    for (Future<Long> f : good) {
      await(f);
    }
    ControllerException e = assertInstanceOf(ControllerException.class, settle(refused).cause());
    assertEquals(ErrorCode.INVALID_REQUEST, e.errorCode());
    // Were broker 1000 still in the leader's proposed state, this fence would pass the check there and
    // then fail every node's replay of the log.
    Future<Long> fence = settle(q.append(List.of(new FenceBrokerRecord(1000, 0))));
    assertEquals(ErrorCode.INVALID_REQUEST,
        assertInstanceOf(ControllerException.class, fence.cause()).errorCode());
    await(q.append(List.of(new FenceBrokerRecord(599, 0))));
    assertEquals(false, q.status().halted());
  }

  @Test
  void aCorruptBatchInTheMiddleStopsStartUpNamingTheFile() throws Exception {
    QuorumVerticle q = startLeader();
    for (int i = 0; i < 3; i++) {
      await(q.append(List.of(broker(i))));
    }
    await(vertx.undeploy(q.deploymentID()));
    Path segment;
    try (Stream<Path> files = Files.list(dir.resolve("__cluster_metadata-0"))) {
      segment = files.filter(f -> f.toString().endsWith(".log")).findFirst().orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(segment);
    bytes[20] ^= 0x40; // inside the first batch; valid batches follow it
    Files.write(segment, bytes, StandardOpenOption.TRUNCATE_EXISTING);

    Future<String> deployed = settle(vertx.deployVerticle(new QuorumVerticle(config())));
    assertTrue(deployed.failed(), "start-up must not serve a corrupt log");
    CorruptLogException c = assertInstanceOf(CorruptLogException.class, deployed.cause());
    assertTrue(c.getMessage().contains(segment.getFileName().toString()), c.getMessage());
  }
}
