package io.raftline.client;

import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.DeleteTopicsRequest;
import io.raftline.protocol.client.DescribeTopicsRequest;
import io.raftline.protocol.client.ListTopicsRequest;
import io.raftline.protocol.client.TopicDescription;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.client.TopicToCreate;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;

/** Topic administration. Every method answers once the change is visible on the broker that served it. */
public final class Admin {
  private final RaftlineClient client;

  Admin(RaftlineClient client) {
    this.client = client;
  }

  /**
   * Creates a topic. {@code partitions} or {@code replicationFactor} of -1 take the cluster defaults.
   * Fails with a {@link RaftlineException} carrying the reason (INVALID_TOPIC_EXCEPTION,
   * TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, ...).
   */
  public Future<TopicResult> createTopic(String name, int partitions, int replicationFactor) {
    CreateTopicsRequest request = CreateTopicsRequest.newBuilder().addTopics(TopicToCreate.newBuilder()
        .setName(name).setNumPartitions(partitions).setReplicationFactor(replicationFactor)).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).createTopics(request)))
        .compose(r -> single(r.getResultsList()));
  }

  public Future<TopicResult> deleteTopic(String name) {
    DeleteTopicsRequest request = DeleteTopicsRequest.newBuilder().addNames(name).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).deleteTopics(request)))
        .compose(r -> single(r.getResultsList()));
  }

  /** Topic names, sorted; internal topics (starting with "__") only if asked for. */
  public Future<List<String>> listTopics(boolean includeInternal) {
    ListTopicsRequest request = ListTopicsRequest.newBuilder().setIncludeInternal(includeInternal).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).listTopics(request)))
        .map(r -> List.copyOf(r.getNamesList()));
  }

  /** Describes the named topics (all topics if none are named); fails if any is unknown. */
  public Future<List<TopicInfo>> describeTopics(List<String> names) {
    DescribeTopicsRequest request = DescribeTopicsRequest.newBuilder().addAllNames(names).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).describeTopics(request)))
        .compose(r -> {
          client.learnBrokers(r);
          List<TopicInfo> out = new ArrayList<>();
          for (TopicDescription d : r.getTopicsList()) {
            if (d.getError() != ErrorCode.NONE) {
              return Future.failedFuture(new RaftlineException(d.getError(), d.getErrorMessage()));
            }
            out.add(RaftlineClient.toTopicInfo(d));
          }
          return Future.succeededFuture(List.copyOf(out));
        });
  }

  private static Future<TopicResult> single(List<TopicResult> results) {
    if (results.size() != 1) {
      return Future.failedFuture(new RaftlineException(ErrorCode.UNKNOWN_SERVER_ERROR,
          "expected one topic result, got " + results.size()));
    }
    TopicResult r = results.get(0);
    return r.getError() == ErrorCode.NONE ? Future.succeededFuture(r)
        : Future.failedFuture(new RaftlineException(r.getError(), r.getErrorMessage()));
  }
}
