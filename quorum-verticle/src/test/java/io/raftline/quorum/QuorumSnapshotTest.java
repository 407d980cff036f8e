package io.raftline.quorum;

import static io.raftline.quorum.QuorumTestSupport.await;
import static io.raftline.quorum.QuorumTestSupport.freePort;
import static io.raftline.quorum.QuorumTestSupport.waitUntil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.QuorumVoter;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.snapshot.SnapshotId;
import io.raftline.quorum.controller.ControllerConfig;
import io.raftline.quorum.raft.RaftRole;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots in a real quorum: voters snapshot on their own as records commit, a new voter that joins
 * after the leader's log start moved catches up by downloading a snapshot in chunks, and a restarted
 * voter rebuilds its image from its snapshot plus the log after it.
 */
class QuorumSnapshotTest {
  private static final String CLUSTER = "AAAAAAAAAAAAAAAAAAAAAA";
  private static final long SNAPSHOT_EVERY_BYTES = 4_000;

  @TempDir Path dir;
  private final List<QuorumVoter> voters = new ArrayList<>();
  private final Vertx[] vertxes = new Vertx[3];
  private final QuorumVerticle[] members = new QuorumVerticle[3];

  private Path logDir(int index) {
    return dir.resolve("node-" + voters.get(index).id()).resolve("__cluster_metadata-0");
  }

  private void start(int index) throws Exception {
    QuorumVoter v = voters.get(index);
    if (vertxes[index] == null) {
      vertxes[index] = Vertx.vertx();
    }
    members[index] = new QuorumVerticle(new QuorumConfig(v.id(), voters, v.host(), v.port(), logDir(index), CLUSTER,
        "raftline.snapshot-test." + v.id(), 300, 1000, ControllerConfig.defaults(), SNAPSHOT_EVERY_BYTES, 3_600_000));
    await(vertxes[index].deployVerticle(members[index]));
  }

  @AfterEach
  void stopAll() throws Exception {
    for (Vertx v : vertxes) {
      if (v != null) {
        await(v.close());
      }
    }
  }

  private int leader() {
    for (int i = 0; i < 3; i++) {
      if (members[i] != null && members[i].status().role() == RaftRole.LEADER) {
        return i;
      }
    }
    return -1;
  }

  private List<SnapshotId> snapshots(int index) throws IOException {
    if (!Files.isDirectory(logDir(index))) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(logDir(index))) {
      return files.map(f -> SnapshotId.parse(f.getFileName().toString())).flatMap(java.util.Optional::stream)
          .sorted().toList();
    }
  }

  private MetadataImage imageOf(int index) throws Exception {
    return await(vertxes[index].eventBus().<MetadataImage>request("raftline.snapshot-test." + voters.get(index).id()
        + ".current", null)).body();
  }

  @Test
  void aLateVoterCatchesUpFromASnapshotAndARestartLoadsOne() throws Exception {
    for (int id = 1; id <= 3; id++) {
      voters.add(new QuorumVoter(id, "127.0.0.1", freePort()));
    }
    start(0);
    start(1);
    waitUntil("a leader among two of three voters", () -> leader() >= 0);
    QuorumVerticle leader = members[leader()];
    long last = -1;
    for (int i = 0; i < 600; i++) {
      last = await(leader.append(List.of(new RegisterBrokerRecord(i % 50, "inc-" + i, 0, List.of(), "rack", true))));
    }
    long committed = last;
    waitUntil("both voters snapshot", () -> {
      try {
        return !snapshots(0).isEmpty() && !snapshots(1).isEmpty();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    assertTrue(snapshots(0).size() <= 2, "old snapshots are deleted: " + snapshots(0));

    // Voter 3 starts empty: everything below the leader's log start comes from a snapshot download.
    start(2);
    waitUntil("the new voter catches up", () -> members[2].status().appliedOffset() >= committed);
    List<SnapshotId> leaders = snapshots(leader());
    assertTrue(snapshots(2).stream().anyMatch(leaders::contains),
        "the new voter holds a snapshot downloaded from the leader: " + snapshots(2) + " vs " + leaders);
    assertEquals(imageOf(leader()).brokers(), imageOf(2).brokers());
    long more = await(members[leader()].append(List.of(new RegisterBrokerRecord(77, "late", 0, List.of(), "", true))));
    waitUntil("the new voter follows the tail", () -> members[2].status().appliedOffset() >= more);

    // A restarted voter rebuilds from its snapshot plus the tail.
    int restarted = (leader() + 1) % 3;
    await(vertxes[restarted].undeploy(members[restarted].deploymentID()));
    start(restarted);
    waitUntil("the restarted voter has everything", () -> members[restarted].status().appliedOffset() >= more);
    assertTrue(imageOf(restarted).broker(77).isPresent());
    assertEquals(imageOf(leader()).brokers(), imageOf(restarted).brokers());
  }
}
