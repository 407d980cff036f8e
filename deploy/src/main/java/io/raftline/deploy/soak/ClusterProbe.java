package io.raftline.deploy.soak;

import io.raftline.client.RaftlineClient;
import io.raftline.client.TopicInfo;
import io.raftline.deploy.soak.SoakCluster.Node;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.ListOffsetsRequest;
import io.raftline.protocol.client.ListOffsetsResponse;
import io.raftline.protocol.client.PartitionOffset;
import io.raftline.protocol.client.PartitionTimestamp;
import io.raftline.protocol.client.RecordsGrpcClient;
import io.raftline.protocol.quorum.DescribeQuorumRequest;
import io.raftline.protocol.quorum.DescribeQuorumResponse;
import io.raftline.protocol.quorum.RaftQuorumGrpcClient;
import io.raftline.protocol.quorum.ReplicaDescription;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the harness asks the cluster: the quorum as its leader describes it (DescribeQuorum, as
 * {@code raftline quorum describe} does), the soak topic's leaders and ISRs (DescribeTopics), each
 * partition's end offset (ListOffsets "latest", the high watermark), and whether the cluster has
 * recovered. Always at the nodes' own ports, never through the fault proxies.
 */
final class ClusterProbe {
  static final long RPC_TIMEOUT_MS = 3_000;
  /** A voter or observer that has not fetched for this long does not count as caught up. */
  static final long FRESH_FETCH_MS = 1_500;
  /**
   * Recovery must hold this long (same leader, same epoch): longer than the quorum's fetch timeout,
   * so a leader that halted a moment ago, still showing its followers' last fetches, does not pass.
   */
  static final long STABLE_MS = 2_500;
  static final String OFFSETS_TOPIC = "__consumer_offsets";

  private final SoakCluster cluster;
  private final GrpcClient grpc;
  private final RaftlineClient admin;
  private final String topic;

  ClusterProbe(SoakCluster cluster, GrpcClient grpc, RaftlineClient admin, String topic) {
    this.cluster = cluster;
    this.grpc = grpc;
    this.admin = admin;
    this.topic = topic;
  }

  private DescribeQuorumResponse describeAt(Node n) throws Exception {
    return SoakRun.await(RaftQuorumGrpcClient.create(grpc, SocketAddress.inetSocketAddress(n.controllerPort, "127.0.0.1"))
        .describeQuorum(DescribeQuorumRequest.getDefaultInstance()), RPC_TIMEOUT_MS);
  }

  /** Each running, unpaused controller's own answer to DescribeQuorum, by node id (unreachable ones left out). */
  Map<Integer, DescribeQuorumResponse> quorumViews() {
    Map<Integer, DescribeQuorumResponse> out = new TreeMap<>();
    for (Node n : cluster.controllers()) {
      if (!n.running() || n.paused) {
        continue;
      }
      try {
        out.put(n.id(), describeAt(n));
      } catch (Exception unreachable) {
        // left out
      }
    }
    return out;
  }

  /**
   * The quorum as its leader describes it: of the controllers that answer as leader, the one with the
   * highest epoch (a deposed or halted leader may still answer as one); null if none does.
   */
  DescribeQuorumResponse quorum() {
    return leaderOf(quorumViews());
  }

  private static DescribeQuorumResponse leaderOf(Map<Integer, DescribeQuorumResponse> views) {
    DescribeQuorumResponse best = null;
    for (DescribeQuorumResponse r : views.values()) {
      if (r.getError().equals("NONE") && (best == null || r.getLeaderEpoch() > best.getLeaderEpoch())) {
        best = r;
      }
    }
    return best;
  }

  /** The active controller's id, -1 if none is known. */
  int activeController() {
    DescribeQuorumResponse r = quorum();
    return r == null ? -1 : r.getLeaderId();
  }

  TopicInfo topic() throws Exception {
    return SoakRun.await(admin.admin().describeTopics(List.of(topic)), RPC_TIMEOUT_MS * 3).get(0);
  }

  /** Partition to leader id (-1 if none); empty if the topic cannot be described now. */
  Map<Integer, Integer> leaders() {
    Map<Integer, Integer> out = new TreeMap<>();
    try {
      for (TopicInfo.PartitionInfo p : topic().partitions()) {
        out.put(p.partition(), p.leader());
      }
    } catch (Exception e) {
      // unknown right now
    }
    return out;
  }

  /** The partitions {@code node} leads, as {@code 0,2} or {@code -}. */
  String ledBy(int node) {
    List<String> led = new ArrayList<>();
    leaders().forEach((p, l) -> {
      if (l == node) {
        led.add(Integer.toString(p));
      }
    });
    return led.isEmpty() ? "-" : String.join(",", led);
  }

  /**
   * Null when the cluster has recovered, else what is still missing: every node running and not
   * paused; a quorum leader whose voters (and, with dedicated brokers, observers) fetched lately and
   * hold the high watermark; every partition led, with all replicas in sync.
   */
  String unhealthy() {
    for (Node n : cluster.nodes()) {
      if (!n.running()) {
        return "node " + n.id() + " is not running";
      }
      if (n.paused) {
        return "node " + n.id() + " is paused";
      }
    }
    Map<Integer, DescribeQuorumResponse> views = quorumViews();
    for (Node n : cluster.controllers()) {
      if (!views.containsKey(n.id())) {
        return "controller " + n.id() + " does not answer DescribeQuorum";
      }
    }
    DescribeQuorumResponse q = leaderOf(views);
    if (q == null) {
      return "no quorum leader";
    }
    for (Map.Entry<Integer, DescribeQuorumResponse> v : views.entrySet()) {
      DescribeQuorumResponse r = v.getValue();
      if (r.getLeaderId() != q.getLeaderId() || r.getLeaderEpoch() != q.getLeaderEpoch()) {
        return "controller " + v.getKey() + " sees leader " + r.getLeaderId() + " in epoch " + r.getLeaderEpoch()
            + " (" + r.getError() + "), but " + q.getLeaderId() + " leads epoch " + q.getLeaderEpoch();
      }
    }
    long now = System.currentTimeMillis();
    List<Integer> seen = new ArrayList<>();
    List<ReplicaDescription> replicas = new ArrayList<>(q.getVotersList());
    replicas.addAll(q.getObserversList());
    for (ReplicaDescription r : replicas) {
      seen.add(r.getReplicaId());
      if (r.getReplicaId() == q.getLeaderId()) {
        continue;
      }
      if (r.getLogEndOffset() < q.getHighWatermark() || now - r.getLastFetchTimestamp() > FRESH_FETCH_MS) {
        return "quorum member " + r.getReplicaId() + " is behind (log end " + r.getLogEndOffset() + ", high watermark "
            + q.getHighWatermark() + ", last fetch " + (now - r.getLastFetchTimestamp()) + " ms ago)";
      }
    }
    for (Node n : cluster.nodes()) {
      if (!seen.contains(n.id())) {
        return "the quorum leader does not list node " + n.id();
      }
    }
    List<TopicInfo> topics = new ArrayList<>();
    try {
      topics.add(topic());
    } catch (Exception e) {
      return "cannot describe the topic: " + e.getMessage();
    }
    try {
      // The group coordinator's topic, once a group consumer made it: its ISRs must be full too.
      topics.addAll(SoakRun.await(admin.admin().describeTopics(List.of(OFFSETS_TOPIC)), RPC_TIMEOUT_MS * 3));
    } catch (Exception e) {
      if (!String.valueOf(e.getMessage()).contains(OFFSETS_TOPIC)) {
        return "cannot describe " + OFFSETS_TOPIC + ": " + e.getMessage();
      }
    }
    for (TopicInfo t : topics) {
      for (TopicInfo.PartitionInfo p : t.partitions()) {
        if (p.leader() < 0) {
          return t.name() + "-" + p.partition() + " has no leader";
        }
        if (p.isr().size() < p.replicas().size()) {
          return t.name() + "-" + p.partition() + " ISR " + p.isr() + " of replicas " + p.replicas();
        }
      }
    }
    return null;
  }

  /**
   * Waits until {@link #unhealthy()} is null twice, {@link #STABLE_MS} apart, with the same quorum
   * leader and epoch; returns the last problem on timeout, null on success.
   */
  String awaitHealthy(long timeoutMs) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    String problem;
    String healthySince = null;
    do {
      problem = unhealthy();
      if (problem == null) {
        DescribeQuorumResponse q = quorum();
        String leader = q == null ? null : q.getLeaderId() + "@" + q.getLeaderEpoch();
        if (leader != null && leader.equals(healthySince)) {
          return null;
        }
        healthySince = leader;
        Thread.sleep(STABLE_MS);
        continue;
      }
      healthySince = null;
      Thread.sleep(200);
    } while (System.currentTimeMillis() < deadline);
    return problem;
  }

  /** Each partition's high watermark, from its leader; fails if some partition cannot say. */
  Map<Integer, Long> endOffsets() throws Exception {
    Map<Integer, Long> out = new TreeMap<>();
    for (TopicInfo.PartitionInfo p : topic().partitions()) {
      if (p.leader() < 0) {
        throw new IllegalStateException("partition " + p.partition() + " has no leader");
      }
      Node leader = cluster.node(p.leader());
      ListOffsetsResponse r = SoakRun.await(RecordsGrpcClient.create(grpc,
              SocketAddress.inetSocketAddress(leader.brokerPort, "127.0.0.1"))
          .listOffsets(ListOffsetsRequest.newBuilder().addPartitions(PartitionTimestamp.newBuilder().setTopic(topic)
              .setPartition(p.partition()).setTimestamp(-1)).build()), RPC_TIMEOUT_MS);
      PartitionOffset po = r.getPartitions(0);
      if (po.getError() != ErrorCode.NONE) {
        throw new IllegalStateException("partition " + p.partition() + ": " + po.getError() + " " + po.getErrorMessage());
      }
      out.put(p.partition(), po.getOffset());
    }
    return out;
  }
}
