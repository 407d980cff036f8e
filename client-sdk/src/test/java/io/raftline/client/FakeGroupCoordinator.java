package io.raftline.client;

import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.group.CommittedOffset;
import io.raftline.protocol.group.ConsumerGroupHeartbeatRequest;
import io.raftline.protocol.group.ConsumerGroupHeartbeatResponse;
import io.raftline.protocol.group.DeleteGroupResult;
import io.raftline.protocol.group.DeleteGroupsRequest;
import io.raftline.protocol.group.DeleteGroupsResponse;
import io.raftline.protocol.group.DescribeGroupsRequest;
import io.raftline.protocol.group.DescribeGroupsResponse;
import io.raftline.protocol.group.DescribedGroup;
import io.raftline.protocol.group.FindCoordinatorRequest;
import io.raftline.protocol.group.FindCoordinatorResponse;
import io.raftline.protocol.group.GroupCoordinatorService;
import io.raftline.protocol.group.GroupListing;
import io.raftline.protocol.group.GroupMember;
import io.raftline.protocol.group.ListGroupsRequest;
import io.raftline.protocol.group.ListGroupsResponse;
import io.raftline.protocol.group.OffsetCommitPartition;
import io.raftline.protocol.group.OffsetCommitPartitionResult;
import io.raftline.protocol.group.OffsetCommitRequest;
import io.raftline.protocol.group.OffsetCommitResponse;
import io.raftline.protocol.group.OffsetFetchRequest;
import io.raftline.protocol.group.OffsetFetchResponse;
import io.raftline.protocol.group.TopicPartitions;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntSupplier;
import java.util.function.ToIntFunction;

/**
 * Just enough of the group coordinator for client tests (the real one lives in broker-verticle, which
 * client-sdk may not depend on): members join, heartbeat and leave; the target assignment deals each
 * topic's partitions round-robin over the members subscribed to it (by member id); a member is given
 * its target minus partitions another member still owns or was given, and its epoch bumps whenever
 * what it is given changes. Commits are checked against member epochs; admin commits need an empty
 * group. Sessions expire on {@link #expireSessions}. Tests can fence a member or make the next
 * heartbeats fail. All state is guarded by this object's lock.
 */
final class FakeGroupCoordinator extends GroupCoordinatorService {
  private final IntSupplier port;
  private final ToIntFunction<String> partitionCounts;
  private final int heartbeatIntervalMs;
  private final Map<String, Group> groups = new TreeMap<>();
  private final List<ErrorCode> injectedHeartbeatErrors = new ArrayList<>();
  private int findCoordinatorCalls;
  private int staleCommitsToInject;
  private int injectedStaleCommits;
  private io.vertx.core.Promise<Void> heldCommit;
  private int commitsReceived;
  private final List<String> serverAssignors = new ArrayList<>();
  private int nextMember;

  private static final class Member {
    final String id;
    int epoch;
    List<String> subscription = List.of();
    Set<TopicPartition> owned = new HashSet<>();
    Set<TopicPartition> given = new HashSet<>();
    String clientId = "";
    long lastSeenMs;
    boolean fenced;

    Member(String id) {
      this.id = id;
    }
  }

  private static final class Group {
    final Map<String, Member> members = new LinkedHashMap<>();
    final Map<TopicPartition, Long> offsets = new TreeMap<>();
    int epoch;
  }

  FakeGroupCoordinator(IntSupplier port, ToIntFunction<String> partitionCounts, int heartbeatIntervalMs) {
    this.port = port;
    this.partitionCounts = partitionCounts;
    this.heartbeatIntervalMs = heartbeatIntervalMs;
  }

  // ---- test controls -------------------------------------------------------------------------------

  synchronized Map<TopicPartition, Long> committed(String groupId) {
    Group g = groups.get(groupId);
    return g == null ? Map.of() : new TreeMap<>(g.offsets);
  }

  synchronized Set<String> members(String groupId) {
    Group g = groups.get(groupId);
    return g == null ? Set.of() : new TreeSet<>(g.members.keySet());
  }

  /** What each member owns by its latest heartbeat. */
  synchronized Map<String, Set<TopicPartition>> owned(String groupId) {
    Map<String, Set<TopicPartition>> out = new TreeMap<>();
    Group g = groups.get(groupId);
    if (g != null) {
      g.members.values().forEach(m -> out.put(m.id, new TreeSet<>(m.owned)));
    }
    return out;
  }

  /** The member's next heartbeat is answered FENCED_MEMBER_EPOCH and its commits are refused. */
  synchronized void fence(String groupId, String memberId) {
    groups.get(groupId).members.get(memberId).fenced = true;
  }

  /** The next {@code n} commits (of any member) are answered STALE_MEMBER_EPOCH and change nothing. */
  synchronized void staleNextCommits(int n) {
    staleCommitsToInject = n;
  }

  /**
   * The next commit (of any member) waits until the returned promise is completed, then is answered
   * STALE_MEMBER_EPOCH and changes nothing: a commit caught in a coordinator failover.
   */
  synchronized io.vertx.core.Promise<Void> holdNextCommit() {
    heldCommit = io.vertx.core.Promise.promise();
    return heldCommit;
  }

  /** Commits that arrived so far (answered or held). */
  synchronized int commitsReceived() {
    return commitsReceived;
  }

  /** Commits answered STALE_MEMBER_EPOCH by {@link #staleNextCommits} so far. */
  synchronized int injectedStaleCommits() {
    return injectedStaleCommits;
  }

  /** The next heartbeats (of any member) are answered with these errors, one each. */
  synchronized void failNextHeartbeats(ErrorCode... errors) {
    injectedHeartbeatErrors.addAll(List.of(errors));
  }

  /** The server_assignor of every heartbeat so far, in arrival order. */
  synchronized List<String> serverAssignors() {
    return List.copyOf(serverAssignors);
  }

  synchronized int findCoordinatorCalls() {
    return findCoordinatorCalls;
  }

  /** Removes members not seen for {@code sessionMs}. */
  synchronized void expireSessions(long nowMs, long sessionMs) {
    groups.values().forEach(g -> g.members.values().removeIf(m -> nowMs - m.lastSeenMs >= sessionMs));
  }

  // ---- the service ---------------------------------------------------------------------------------

  @Override
  public synchronized Future<FindCoordinatorResponse> findCoordinator(FindCoordinatorRequest request) {
    findCoordinatorCalls++;
    return Future.succeededFuture(FindCoordinatorResponse.newBuilder().setError(ErrorCode.NONE).setNodeId(1)
        .setHost("127.0.0.1").setPort(port.getAsInt()).build());
  }

  @Override
  public synchronized Future<ConsumerGroupHeartbeatResponse> consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest r) {
    ConsumerGroupHeartbeatResponse.Builder response = ConsumerGroupHeartbeatResponse.newBuilder();
    serverAssignors.add(r.getServerAssignor());
    if (!injectedHeartbeatErrors.isEmpty()) {
      return Future.succeededFuture(response.setError(injectedHeartbeatErrors.remove(0)).build());
    }
    Group g = groups.computeIfAbsent(r.getGroupId(), id -> new Group());
    Member m = g.members.get(r.getMemberId());
    if (r.getMemberEpoch() == -1) {
      if (m == null) {
        return Future.succeededFuture(response.setError(ErrorCode.UNKNOWN_MEMBER_ID).build());
      }
      g.members.remove(m.id);
      g.epoch++;
      return Future.succeededFuture(response.setError(ErrorCode.NONE).setMemberId(m.id).setMemberEpoch(-1).build());
    }
    if (r.getMemberEpoch() == 0) {
      String id = r.getMemberId().isEmpty() ? "member-" + (++nextMember) : r.getMemberId();
      m = new Member(id);
      g.members.remove(id);
      g.members.put(id, m);
      g.epoch++;
    } else if (m == null) {
      return Future.succeededFuture(response.setError(ErrorCode.UNKNOWN_MEMBER_ID).build());
    } else if (m.fenced || r.getMemberEpoch() != m.epoch) {
      g.members.remove(m.id);
      return Future.succeededFuture(response.setError(ErrorCode.FENCED_MEMBER_EPOCH).build());
    }
    m.lastSeenMs = System.currentTimeMillis();
    m.clientId = r.getClientId();
    if (!m.subscription.equals(r.getSubscribedTopicNamesList())) {
      m.subscription = List.copyOf(r.getSubscribedTopicNamesList());
      g.epoch++;
    }
    m.owned = GroupConsumer.toSet(r.getOwnedPartitionsList());
    Set<TopicPartition> given = new HashSet<>();
    for (TopicPartition tp : target(g).getOrDefault(m.id, Set.of())) {
      boolean elsewhere = false;
      for (Member other : g.members.values()) {
        if (other != m && (other.owned.contains(tp) || other.given.contains(tp))) {
          elsewhere = true;
        }
      }
      if (!elsewhere) {
        given.add(tp);
      }
    }
    if (!given.equals(m.given) || m.epoch == 0) {
      m.given = given;
      m.epoch = Math.max(m.epoch + 1, g.epoch);
    }
    return Future.succeededFuture(response.setError(ErrorCode.NONE).setMemberId(m.id).setMemberEpoch(m.epoch)
        .setHeartbeatIntervalMs(heartbeatIntervalMs).addAllAssignment(GroupConsumer.toTopicPartitions(m.given)).build());
  }

  private Map<String, Set<TopicPartition>> target(Group g) {
    Map<String, Set<TopicPartition>> out = new HashMap<>();
    Map<String, List<String>> membersByTopic = new TreeMap<>();
    new TreeMap<>(g.members).values().forEach(m -> m.subscription.forEach(t ->
        membersByTopic.computeIfAbsent(t, x -> new ArrayList<>()).add(m.id)));
    membersByTopic.forEach((topic, ids) -> {
      int n = Math.max(0, partitionCounts.applyAsInt(topic));
      for (int p = 0; p < n; p++) {
        out.computeIfAbsent(ids.get(p % ids.size()), x -> new HashSet<>()).add(new TopicPartition(topic, p));
      }
    });
    return out;
  }

  private String state(Group g) {
    if (g.members.isEmpty()) {
      return "EMPTY";
    }
    Map<String, Set<TopicPartition>> target = target(g);
    for (Member m : g.members.values()) {
      if (!m.given.equals(target.getOrDefault(m.id, Set.of()))) {
        return "RECONCILING";
      }
    }
    return "STABLE";
  }

  @Override
  public synchronized Future<OffsetCommitResponse> offsetCommit(OffsetCommitRequest r) {
    Group g = groups.computeIfAbsent(r.getGroupId(), id -> new Group());
    commitsReceived++;
    if (heldCommit != null) {
      io.vertx.core.Promise<Void> held = heldCommit;
      heldCommit = null;
      OffsetCommitResponse.Builder stale = OffsetCommitResponse.newBuilder();
      r.getPartitionsList().forEach(p -> stale.addResults(OffsetCommitPartitionResult.newBuilder()
          .setTopic(p.getTopic()).setPartition(p.getPartition()).setError(ErrorCode.STALE_MEMBER_EPOCH)));
      return held.future().map(v -> stale.build());
    }
    ErrorCode code = ErrorCode.NONE;
    if (staleCommitsToInject > 0) {
      staleCommitsToInject--;
      injectedStaleCommits++;
      code = ErrorCode.STALE_MEMBER_EPOCH;
    } else if (r.getMemberId().isEmpty()) {
      if (!g.members.isEmpty()) {
        code = ErrorCode.NON_EMPTY_GROUP;
      }
    } else {
      Member m = g.members.get(r.getMemberId());
      if (m == null) {
        code = ErrorCode.UNKNOWN_MEMBER_ID;
      } else if (m.fenced || r.getMemberEpoch() > m.epoch) {
        code = ErrorCode.FENCED_MEMBER_EPOCH;
      } else if (r.getMemberEpoch() < m.epoch) {
        code = ErrorCode.STALE_MEMBER_EPOCH;
      }
    }
    OffsetCommitResponse.Builder response = OffsetCommitResponse.newBuilder();
    for (OffsetCommitPartition p : r.getPartitionsList()) {
      if (code == ErrorCode.NONE) {
        g.offsets.put(new TopicPartition(p.getTopic(), p.getPartition()), p.getOffset());
      }
      response.addResults(OffsetCommitPartitionResult.newBuilder().setTopic(p.getTopic()).setPartition(p.getPartition())
          .setError(code));
    }
    return Future.succeededFuture(response.build());
  }

  @Override
  public synchronized Future<OffsetFetchResponse> offsetFetch(OffsetFetchRequest r) {
    Group g = groups.get(r.getGroupId());
    Map<TopicPartition, Long> offsets = g == null ? Map.of() : g.offsets;
    OffsetFetchResponse.Builder response = OffsetFetchResponse.newBuilder().setError(ErrorCode.NONE);
    if (r.getPartitionsCount() == 0) {
      offsets.forEach((tp, o) -> response.addOffsets(offset(tp, o)));
    } else {
      for (TopicPartitions tps : r.getPartitionsList()) {
        for (int p : tps.getPartitionsList()) {
          TopicPartition tp = new TopicPartition(tps.getTopic(), p);
          response.addOffsets(offset(tp, offsets.getOrDefault(tp, -1L)));
        }
      }
    }
    return Future.succeededFuture(response.build());
  }

  private static CommittedOffset offset(TopicPartition tp, long offset) {
    return CommittedOffset.newBuilder().setTopic(tp.topic()).setPartition(tp.partition()).setOffset(offset).build();
  }

  @Override
  public synchronized Future<ListGroupsResponse> listGroups(ListGroupsRequest request) {
    ListGroupsResponse.Builder response = ListGroupsResponse.newBuilder().setError(ErrorCode.NONE);
    groups.forEach((id, g) -> {
      if (!g.members.isEmpty() || !g.offsets.isEmpty()) {
        response.addGroups(GroupListing.newBuilder().setGroupId(id).setState(state(g)));
      }
    });
    return Future.succeededFuture(response.build());
  }

  @Override
  public synchronized Future<DescribeGroupsResponse> describeGroups(DescribeGroupsRequest request) {
    DescribeGroupsResponse.Builder response = DescribeGroupsResponse.newBuilder();
    for (String id : request.getGroupIdsList()) {
      Group g = groups.get(id);
      DescribedGroup.Builder d = DescribedGroup.newBuilder().setGroupId(id);
      if (g == null || (g.members.isEmpty() && g.offsets.isEmpty())) {
        response.addGroups(d.setError(ErrorCode.GROUP_ID_NOT_FOUND).setState("DEAD"));
        continue;
      }
      d.setError(ErrorCode.NONE).setState(state(g)).setGroupEpoch(g.epoch).setAssignmentEpoch(g.epoch);
      Map<String, Set<TopicPartition>> target = target(g);
      g.members.values().forEach(m -> d.addMembers(GroupMember.newBuilder().setMemberId(m.id).setClientId(m.clientId)
          .setMemberEpoch(m.epoch).addAllSubscribedTopicNames(m.subscription)
          .addAllAssignment(GroupConsumer.toTopicPartitions(m.given))
          .addAllTargetAssignment(GroupConsumer.toTopicPartitions(target.getOrDefault(m.id, Set.of())))));
      g.offsets.forEach((tp, o) -> d.addOffsets(offset(tp, o)));
      response.addGroups(d);
    }
    return Future.succeededFuture(response.build());
  }

  @Override
  public synchronized Future<DeleteGroupsResponse> deleteGroups(DeleteGroupsRequest request) {
    DeleteGroupsResponse.Builder response = DeleteGroupsResponse.newBuilder();
    for (String id : request.getGroupIdsList()) {
      Group g = groups.get(id);
      ErrorCode code;
      if (g == null || (g.members.isEmpty() && g.offsets.isEmpty())) {
        code = ErrorCode.GROUP_ID_NOT_FOUND;
      } else if (!g.members.isEmpty()) {
        code = ErrorCode.NON_EMPTY_GROUP;
      } else {
        groups.remove(id);
        code = ErrorCode.NONE;
      }
      response.addResults(DeleteGroupResult.newBuilder().setGroupId(id).setError(code));
    }
    return Future.succeededFuture(response.build());
  }
}
