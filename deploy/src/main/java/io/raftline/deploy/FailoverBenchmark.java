package io.raftline.deploy;

import io.raftline.client.RaftlineClient;
import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.metadata.snapshot.MetadataSnapshot;
import io.raftline.metadata.snapshot.SnapshotId;
import io.raftline.protocol.quorum.DescribeQuorumRequest;
import io.raftline.protocol.quorum.DescribeQuorumResponse;
import io.raftline.protocol.quorum.RaftQuorumClient;
import io.raftline.protocol.quorum.RaftQuorumGrpcClient;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Controller failover as an operator sees it: a local cluster of three combined nodes (real
 * processes), then, again and again, kill -9 of the process of the quorum leader (the active
 * controller), timing until a survivor names a new leader and until a create-topic commits; the
 * killed node is restarted and caught up before the next round.
 */
final class FailoverBenchmark {
  private static final long ROUND_TIMEOUT_MS = 60_000;

  private FailoverBenchmark() {}

  static void run(int kills, Path baseDir, PrintWriter out) throws Exception {
    run(kills, baseDir, 0, 0, out);
  }

  /**
   * As {@link #run(int, Path, PrintWriter)}, with every voter starting from a snapshot of
   * {@code imageTopics × imagePartitions} partitions (RF 3) when both are positive, so failover is
   * measured with a large image. Those partitions live on brokers 101-106, registered and fenced, which
   * never start: the image is full size while the three nodes' brokers host nothing of it (a million
   * partition logs would not fit this machine), and no fencing or registration rewrites them.
   */
  static void run(int kills, Path baseDir, int imageTopics, int imagePartitions, PrintWriter out) throws Exception {
    Path dir = baseDir != null ? baseDir : Files.createTempDirectory("raftline-perf-failover");
    LocalCluster cluster = LocalCluster.prepare(dir, 3, out);
    if (imageTopics > 0 && imagePartitions > 0) {
      seedSnapshot(cluster.dir(), imageTopics, imagePartitions, out);
    }
    Vertx vertx = Vertx.vertx();
    try {
      cluster.start(out);
      Map<Integer, NodeConfig.Listener> controllers = cluster.controllerListeners();
      GrpcClient grpc = GrpcClient.client(vertx);
      RaftlineClient client = RaftlineClient.create(vertx, Map.of("bootstrap.servers", cluster.bootstrapServers(),
          "request.timeout.ms", "5000"));
      RaftlineCli.await(client.admin().createTopic("failover-warmup", 1, 1), ROUND_TIMEOUT_MS);
      long[] electedMs = new long[kills];
      long[] createdMs = new long[kills];
      for (int round = 0; round < kills; round++) {
        int leader = leaderSeenBy(grpc, controllers, -1);
        long killedAt = System.nanoTime();
        cluster.killNode(leader);
        int next = -1;
        long deadline = System.currentTimeMillis() + ROUND_TIMEOUT_MS;
        while (next < 0 || next == leader) {
          if (System.currentTimeMillis() > deadline) {
            throw new IllegalStateException("no new leader within " + ROUND_TIMEOUT_MS + " ms after killing " + leader);
          }
          next = leaderSeenBy(grpc, controllers, leader);
          if (next < 0 || next == leader) {
            Thread.sleep(5);
          }
        }
        electedMs[round] = (System.nanoTime() - killedAt) / 1_000_000;
        RaftlineCli.await(client.admin().createTopic("failover-" + round, 1, 1), ROUND_TIMEOUT_MS);
        createdMs[round] = (System.nanoTime() - killedAt) / 1_000_000;
        out.printf("round %d: killed leader %d; node %d leads after %d ms; create-topic committed after %d ms%n",
            round + 1, leader, next, electedMs[round], createdMs[round]);
        out.flush();
        cluster.restartNode(leader);
        waitCaughtUp(grpc, controllers, leader);
      }
      Arrays.sort(electedMs);
      Arrays.sort(createdMs);
      out.printf("%d kill -9s of the leader: new leader median %d ms, max %d ms; create-topic works median %d ms, "
              + "max %d ms.%n", kills, electedMs[kills / 2], electedMs[kills - 1], createdMs[kills / 2],
          createdMs[kills - 1]);
      RaftlineCli.await(client.close(), 10_000);
    } finally {
      cluster.requestStop();
      cluster.stop();
      RaftlineCli.await(vertx.close(), 10_000);
    }
  }

  private static void seedSnapshot(Path clusterDir, int topics, int partitionsPerTopic, PrintWriter out)
      throws Exception {
    long start = System.nanoTime();
    MetadataDelta delta = new MetadataDelta(MetadataImage.EMPTY);
    long offset = 0;
    int brokers = 6;
    for (int b = 0; b < brokers; b++) {
      delta.replay(offset, new RegisterBrokerRecord(101 + b, "absent-" + b, offset,
          List.of(new BrokerEndpoint("PLAINTEXT", "absent-" + b, 9092)), "rack-" + (b % 3), true));
      offset++;
    }
    for (int t = 0; t < topics; t++) {
      UUID id = new UUID(t, 42);
      delta.replay(offset++, new TopicRecord("scale-" + t, id));
      for (int p = 0; p < partitionsPerTopic; p++) {
        List<Integer> replicas = List.of(101 + (t + p) % brokers, 101 + (t + p + 1) % brokers,
            101 + (t + p + 2) % brokers);
        // Leaderless with its last in-sync replica kept, as a partition is once all its replicas are fenced.
        delta.replay(offset++, new PartitionRecord(id, p, replicas, replicas.subList(0, 1),
            PartitionRegistration.NO_LEADER, 0, 0));
      }
    }
    MetadataImage image = delta.apply();
    SnapshotId id = new SnapshotId(offset, 1);
    Path first = null;
    for (int node = 1; node <= 3; node++) {
      Path metadataDir = clusterDir.resolve("node-" + node).resolve("__cluster_metadata-0");
      Files.createDirectories(metadataDir);
      if (first == null) {
        first = MetadataSnapshot.write(metadataDir, id, image);
      } else {
        Files.copy(first, metadataDir.resolve(id.fileName()));
      }
    }
    out.printf("seeded every voter with snapshot %s: %d partitions, %.1f MiB, built and written in %.1f s%n",
        id.fileName(), (long) topics * partitionsPerTopic, Files.size(first) / 1048576.0,
        (System.nanoTime() - start) / 1e9);
    out.flush();
  }

  /** The leader any reachable controller other than {@code skip} knows, -1 if none knows one. */
  private static int leaderSeenBy(GrpcClient grpc, Map<Integer, NodeConfig.Listener> controllers, int skip) {
    for (Map.Entry<Integer, NodeConfig.Listener> e : controllers.entrySet()) {
      if (e.getKey() == skip) {
        continue;
      }
      try {
        DescribeQuorumResponse r = describe(grpc, e.getValue());
        if (r.getLeaderId() >= 0 && r.getLeaderId() != skip) {
          return r.getLeaderId();
        }
      } catch (Exception unreachable) {
        // try the next controller
      }
    }
    return -1;
  }

  private static DescribeQuorumResponse describe(GrpcClient grpc, NodeConfig.Listener l) throws Exception {
    RaftQuorumClient c = RaftQuorumGrpcClient.create(grpc, SocketAddress.inetSocketAddress(l.port(), l.host()));
    return RaftlineCli.await(c.describeQuorum(DescribeQuorumRequest.getDefaultInstance()), 2_000);
  }

  /** Waits until the leader reports the restarted voter at the leader's log end. */
  private static void waitCaughtUp(GrpcClient grpc, Map<Integer, NodeConfig.Listener> controllers, int voter)
      throws Exception {
    long deadline = System.currentTimeMillis() + ROUND_TIMEOUT_MS;
    while (System.currentTimeMillis() < deadline) {
      int leader = leaderSeenBy(grpc, controllers, -1);
      if (leader >= 0) {
        DescribeQuorumResponse r = describe(grpc, controllers.get(leader));
        long leaderEnd = -1;
        long voterEnd = -2;
        for (var v : r.getVotersList()) {
          if (v.getReplicaId() == leader) {
            leaderEnd = v.getLogEndOffset();
          }
          if (v.getReplicaId() == voter) {
            voterEnd = v.getLogEndOffset();
          }
        }
        if (voterEnd >= leaderEnd && leaderEnd >= 0) {
          return;
        }
      }
      Thread.sleep(20);
    }
    throw new IllegalStateException("voter " + voter + " did not catch up within " + ROUND_TIMEOUT_MS + " ms");
  }
}
