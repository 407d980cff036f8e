package io.raftline.client;

import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.AlterConfigOp;
import io.raftline.protocol.client.AlterConfigsRequest;
import io.raftline.protocol.client.ConfigResourceName;
import io.raftline.protocol.client.CreatePartitionsRequest;
import io.raftline.protocol.client.CreateTopicsRequest;
import io.raftline.protocol.client.DescribeConfigsRequest;
import io.raftline.protocol.client.PartitionCountChange;
import io.raftline.protocol.client.ReplicaAssignment;
import io.raftline.protocol.client.ResourceAlteration;
import io.raftline.protocol.client.ResourceConfigs;
import io.raftline.protocol.client.ResourceResult;
import io.raftline.protocol.client.DeleteTopicsRequest;
import io.raftline.protocol.client.DescribeTopicsRequest;
import io.raftline.protocol.client.ListTopicsRequest;
import io.raftline.protocol.client.TopicDescription;
import io.raftline.protocol.client.TopicResult;
import io.raftline.protocol.client.TopicToCreate;
import io.raftline.protocol.group.CommittedOffset;
import io.raftline.protocol.group.DeleteGroupResult;
import io.raftline.protocol.group.DeleteGroupsRequest;
import io.raftline.protocol.group.DescribeGroupsRequest;
import io.raftline.protocol.group.DescribedGroup;
import io.raftline.protocol.group.GroupMember;
import io.raftline.protocol.group.ListGroupsRequest;
import io.raftline.protocol.group.ListGroupsResponse;
import io.raftline.protocol.group.OffsetCommitPartition;
import io.raftline.protocol.group.OffsetCommitPartitionResult;
import io.raftline.protocol.group.OffsetCommitRequest;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Topic and consumer group administration. Topic changes answer once the change is visible on the broker
 * that served them; group operations go to the group's coordinator.
 */
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

  /** Deletes several topics in one request; the result of each, in request order, errors included. */
  public Future<List<TopicResult>> deleteTopics(List<String> names) {
    DeleteTopicsRequest request = DeleteTopicsRequest.newBuilder().addAllNames(names).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).deleteTopics(request)))
        .map(r -> List.copyOf(r.getResultsList()));
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

  /**
   * Creates several topics of the same shape in one request (one controller decision, one commit).
   * Fails with the first refused topic's reason; the others may have been created.
   */
  public Future<List<TopicResult>> createTopics(List<String> names, int partitions, int replicationFactor) {
    CreateTopicsRequest.Builder request = CreateTopicsRequest.newBuilder();
    names.forEach(n -> request.addTopics(TopicToCreate.newBuilder().setName(n).setNumPartitions(partitions)
        .setReplicationFactor(replicationFactor)));
    CreateTopicsRequest built = request.build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).createTopics(built)))
        .compose(r -> {
          for (TopicResult t : r.getResultsList()) {
            if (t.getError() != ErrorCode.NONE) {
              return Future.failedFuture(new RaftlineException(t.getError(), t.getName() + ": " + t.getErrorMessage()));
            }
          }
          return Future.succeededFuture(List.copyOf(r.getResultsList()));
        });
  }

  /**
   * Creates a topic on replicas of your choosing (Kafka's {@code replicaAssignment}): partition index
   * (0..n-1) to its brokers, the preferred leader first. Every partition needs the same number of
   * replicas, no broker twice, only registered brokers, else INVALID_REPLICA_ASSIGNMENT.
   */
  public Future<TopicResult> createTopic(String name, Map<Integer, List<Integer>> replicaAssignment,
      Map<String, String> configs) {
    TopicToCreate.Builder topic = TopicToCreate.newBuilder().setName(name).setNumPartitions(-1)
        .setReplicationFactor(-1).putAllConfigs(configs);
    new TreeMap<>(replicaAssignment).forEach((partition, brokers) -> topic.addAssignments(
        ReplicaAssignment.newBuilder().setPartitionIndex(partition).addAllBrokerIds(brokers)));
    CreateTopicsRequest request = CreateTopicsRequest.newBuilder().addTopics(topic).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).createTopics(request)))
        .compose(r -> single(r.getResultsList()));
  }

  public Future<TopicResult> createTopic(String name, Map<Integer, List<Integer>> replicaAssignment) {
    return createTopic(name, replicaAssignment, Map.of());
  }

  /**
   * Raises a topic's partition count to {@code count}, placing each new partition on the brokers
   * given, in partition order ({@code count} minus the current count lists).
   */
  public Future<TopicResult> createPartitions(String topic, int count, List<List<Integer>> newAssignments) {
    PartitionCountChange.Builder change = PartitionCountChange.newBuilder().setTopic(topic).setCount(count);
    newAssignments.forEach(brokers -> change.addAssignments(ReplicaAssignment.newBuilder().addAllBrokerIds(brokers)));
    CreatePartitionsRequest request = CreatePartitionsRequest.newBuilder().addTopics(change).build();
    return client.call(() -> client.anyBroker(b -> client.topicAdmin(b).createPartitions(request)))
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

  // ---- consumer groups ---------------------------------------------------------------------------

  /**
   * Every consumer group, sorted by id: each broker lists the groups it coordinates. Fails with
   * COORDINATOR_LOAD_IN_PROGRESS while a broker is still loading groups (retry later).
   */
  public Future<List<ConsumerGroupListing>> listGroups() {
    return client.call(() -> client.allBrokers().compose(brokers -> {
      List<Future<ListGroupsResponse>> answers = new ArrayList<>();
      brokers.forEach(b -> answers.add(client.groupCoordinator(b).listGroups(ListGroupsRequest.getDefaultInstance())));
      return Future.all(answers).compose(all -> {
        Map<String, ConsumerGroupListing> out = new TreeMap<>();
        for (Future<ListGroupsResponse> answer : answers) {
          ListGroupsResponse r = answer.result();
          if (r.getError() != ErrorCode.NONE) {
            return Future.failedFuture(new RaftlineException(r.getError(), r.getErrorMessage()));
          }
          r.getGroupsList().forEach(g -> out.put(g.getGroupId(), new ConsumerGroupListing(g.getGroupId(), g.getState())));
        }
        return Future.succeededFuture(List.copyOf(out.values()));
      });
    }));
  }

  /**
   * A group's state, members with their assignments, and per partition (committed or assigned) the
   * committed offset, the log end offset and the lag between them. Fails with GROUP_ID_NOT_FOUND for
   * an unknown group.
   */
  public Future<ConsumerGroupDescription> describeGroup(String groupId) {
    DescribeGroupsRequest request = DescribeGroupsRequest.newBuilder().addGroupIds(groupId).build();
    return client.call(() -> client.withCoordinator(groupId, c -> c.describeGroups(request),
        r -> r.getGroupsCount() == 0 ? ErrorCode.NONE : r.getGroups(0).getError()).compose(r -> {
          if (r.getGroupsCount() != 1) {
            return Future.failedFuture(new RaftlineException(ErrorCode.UNKNOWN_SERVER_ERROR,
                "expected one group, got " + r.getGroupsCount()));
          }
          DescribedGroup d = r.getGroups(0);
          if (d.getError() != ErrorCode.NONE) {
            return Future.failedFuture(new RaftlineException(d.getError(), d.getErrorMessage()));
          }
          List<ConsumerGroupDescription.Member> members = new ArrayList<>();
          Map<TopicPartition, Long> committed = new TreeMap<>();
          for (GroupMember m : d.getMembersList()) {
            Set<TopicPartition> assignment = new TreeSet<>(GroupConsumer.toSet(m.getAssignmentList()));
            members.add(new ConsumerGroupDescription.Member(m.getMemberId(), m.getClientId(), m.getMemberEpoch(),
                List.copyOf(m.getSubscribedTopicNamesList()), Collections.unmodifiableSet(assignment),
                Collections.unmodifiableSet(new TreeSet<>(GroupConsumer.toSet(m.getTargetAssignmentList())))));
            assignment.forEach(tp -> committed.put(tp, -1L));
          }
          for (CommittedOffset o : d.getOffsetsList()) {
            committed.put(new TopicPartition(o.getTopic(), o.getPartition()), o.getOffset());
          }
          return client.listOffsets(committed.keySet(), -1).map(ends -> {
            Map<TopicPartition, ConsumerGroupDescription.OffsetLag> offsets = new TreeMap<>();
            committed.forEach((tp, c) -> {
              long end = ends.getOrDefault(tp, -1L);
              offsets.put(tp, new ConsumerGroupDescription.OffsetLag(c, end, c < 0 || end < 0 ? -1 : Math.max(0, end - c)));
            });
            return new ConsumerGroupDescription(d.getGroupId(), d.getState(), d.getGroupEpoch(), d.getAssignmentEpoch(),
                List.copyOf(members), Collections.unmodifiableMap(offsets));
          });
        }));
  }

  /** Deletes a group and its committed offsets; fails with NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND if unknown. */
  public Future<Void> deleteGroup(String groupId) {
    DeleteGroupsRequest request = DeleteGroupsRequest.newBuilder().addGroupIds(groupId).build();
    return client.call(() -> client.withCoordinator(groupId, c -> c.deleteGroups(request),
        r -> r.getResultsCount() == 0 ? ErrorCode.NONE : r.getResults(0).getError()).compose(r -> {
          DeleteGroupResult result = r.getResultsCount() == 1 ? r.getResults(0) : null;
          if (result == null) {
            return Future.failedFuture(new RaftlineException(ErrorCode.UNKNOWN_SERVER_ERROR, "expected one result"));
          }
          return result.getError() == ErrorCode.NONE ? Future.<Void>succeededFuture()
              : Future.failedFuture(new RaftlineException(result.getError(), result.getErrorMessage()));
        }));
  }

  /**
   * Moves the committed offsets of group {@code groupId} for every partition of {@code topic} to
   * {@code to} (an explicit offset is kept within each partition's earliest and latest). The group must
   * have no members (else NON_EMPTY_GROUP): its consumers start there when they next join.
   *
   * @return the offsets committed, per partition
   */
  public Future<Map<TopicPartition, Long>> resetOffsets(String groupId, String topic, OffsetSpec to) {
    return client.call(() -> client.topic(topic, true).compose(info -> {
      List<TopicPartition> partitions = new ArrayList<>();
      for (int p = 0; p < info.partitions().size(); p++) {
        partitions.add(new TopicPartition(topic, p));
      }
      Future<Map<TopicPartition, Long>> earliest = client.listOffsets(partitions, -2);
      Future<Map<TopicPartition, Long>> latest = client.listOffsets(partitions, -1);
      return Future.all(earliest, latest).compose(both -> {
        Map<TopicPartition, Long> targets = new TreeMap<>();
        for (TopicPartition tp : partitions) {
          Long lo = earliest.result().get(tp);
          Long hi = latest.result().get(tp);
          if (lo == null || hi == null) {
            return Future.failedFuture(new RaftlineException(ErrorCode.LEADER_NOT_AVAILABLE,
                "could not read the offsets of " + tp + " from its leader"));
          }
          targets.put(tp, to.isEarliest() ? lo : to.isLatest() ? hi : Math.max(lo, Math.min(hi, to.offset())));
        }
        OffsetCommitRequest.Builder request = OffsetCommitRequest.newBuilder().setGroupId(groupId).setMemberId("")
            .setMemberEpoch(-1);
        targets.forEach((tp, offset) -> request.addPartitions(OffsetCommitPartition.newBuilder().setTopic(tp.topic())
            .setPartition(tp.partition()).setOffset(offset)));
        return client.withCoordinator(groupId, c -> c.offsetCommit(request.build()), GroupConsumer::coordinatorError)
            .compose(r -> {
              for (OffsetCommitPartitionResult pr : r.getResultsList()) {
                if (pr.getError() != ErrorCode.NONE) {
                  return Future.failedFuture(new RaftlineException(pr.getError(), "resetting " + pr.getTopic() + "-"
                      + pr.getPartition() + " of group " + groupId + ": " + pr.getErrorMessage()));
                }
              }
              return Future.succeededFuture(Collections.unmodifiableMap(targets));
            });
      });
    }));
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
