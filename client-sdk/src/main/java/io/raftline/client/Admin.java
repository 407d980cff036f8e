package io.raftline.client;

import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.AlterConfigOp;
import io.raftline.protocol.client.AlterConfigsRequest;
import io.raftline.protocol.client.ConfigResourceName;
import io.raftline.protocol.client.CreatePartitionsRequest;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.DescribeConfigsRequest;
import io.raftline.protocol.client.PartitionCountChange;
import io.raftline.protocol.client.ResourceAlteration;
import io.raftline.protocol.client.ResourceConfigs;
import io.raftline.protocol.client.ResourceResult;
import io.raftline.protocol.client.DeleteTopicsRequest;
import io.raftline.protocol.client.DescribeTopicsRequest;
import io.raftline.protocol.client.ListTopicsRequest;
import io.raftline.protocol.client.TopicDescription;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.client.TopicToCreate;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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

  /** Creates a topic with configs (Kafka names, e.g. {@code cleanup.policy=compact}). */
  public Future<TopicResult> createTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
    CreateTopicsRequest request = CreateTopicsRequest.newBuilder().addTopics(TopicToCreate.newBuilder()
        .setName(name).setNumPartitions(partitions).setReplicationFactor(replicationFactor).putAllConfigs(configs)).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).createTopics(request)))
        .compose(r -> single(r.getResultsList()));
  }

  /** Raises a topic's partition count to {@code count}; existing partitions keep their records. */
  public Future<TopicResult> createPartitions(String topic, int count) {
    CreatePartitionsRequest request = CreatePartitionsRequest.newBuilder()
        .addTopics(PartitionCountChange.newBuilder().setTopic(topic).setCount(count)).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).createPartitions(request)))
        .compose(r -> single(r.getResultsList()));
  }

  /**
   * Every config of a resource ({@code type} TOPIC or BROKER; BROKER with an empty name for the
   * cluster-wide defaults), by name.
   */
  public Future<Map<String, ConfigEntry>> describeConfigs(String type, String name) {
    DescribeConfigsRequest request = DescribeConfigsRequest.newBuilder()
        .addResources(ConfigResourceName.newBuilder().setType(type).setName(name)).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).describeConfigs(request)))
        .compose(r -> {
          ResourceConfigs rc = r.getResults(0);
          if (rc.getError() != ErrorCode.NONE) {
            return Future.failedFuture(new RaftlineException(rc.getError(), rc.getErrorMessage()));
          }
          Map<String, ConfigEntry> out = new TreeMap<>();
          rc.getEntriesList().forEach(e -> out.put(e.getName(), new ConfigEntry(e.getName(), e.getValue(), e.getSource())));
          return Future.succeededFuture(Collections.unmodifiableMap(out));
        });
  }

  /** Sets and deletes config keys of one resource, all or nothing. */
  public Future<Void> incrementalAlterConfigs(String type, String name, Map<String, String> set, List<String> delete) {
    ResourceAlteration.Builder alteration = ResourceAlteration.newBuilder()
        .setResource(ConfigResourceName.newBuilder().setType(type).setName(name));
    new TreeMap<>(set).forEach((k, v) -> alteration.addOps(AlterConfigOp.newBuilder().setName(k).setValue(v).setOp("SET")));
    delete.forEach(k -> alteration.addOps(AlterConfigOp.newBuilder().setName(k).setOp("DELETE")));
    AlterConfigsRequest request = AlterConfigsRequest.newBuilder().addResources(alteration).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).incrementalAlterConfigs(request)))
        .compose(r -> {
          ResourceResult rr = r.getResults(0);
          return rr.getError() == ErrorCode.NONE ? Future.<Void>succeededFuture()
              : Future.failedFuture(new RaftlineException(rr.getError(), rr.getErrorMessage()));
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
