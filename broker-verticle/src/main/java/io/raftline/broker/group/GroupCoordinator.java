package io.raftline.broker.group;

import io.raftline.metadata.TopicPartition;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.group.CommittedOffset;
import io.raftline.protocol.group.ConsumerGroupHeartbeatRequest;
import io.raftline.protocol.group.ConsumerGroupHeartbeatResponse;
import io.raftline.protocol.group.DeleteGroupResult;
import io.raftline.protocol.group.DescribedGroup;
import io.raftline.protocol.group.GroupListing;
import io.raftline.protocol.group.GroupMember;
import io.raftline.protocol.group.ListGroupsResponse;
import io.raftline.protocol.group.OffsetCommitPartition;
import io.raftline.protocol.group.OffsetCommitPartitionResult;
import io.raftline.protocol.group.OffsetCommitRequest;
import io.raftline.protocol.group.OffsetCommitResponse;
import io.raftline.protocol.group.OffsetFetchRequest;
import io.raftline.protocol.group.OffsetFetchResponse;
import io.raftline.protocol.group.TopicPartitions;
import io.raftline.broker.group.OffsetRecords.MemberValue;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * The group coordinator's state machine, in the style of Kafka's KIP-848 consumer protocol, for the
 * groups of the {@code __consumer_offsets} partitions this broker leads. Single-threaded and pure: no
 * Vert.x, no IO, no clock (every input carries {@code nowMs}); {@link GroupCoordinatorApi} is its shell.
 *
 * <h2>Membership and assignment</h2>
 * Members join with a heartbeat of epoch 0, stay with their current epoch, leave with -1. Joining,
 * leaving, being removed, a changed subscription or a changed partition count of a subscribed topic
 * bumps the <em>group epoch</em>, and the group's assignor computes a new <em>target
 * assignment</em> at that epoch: the {@link UniformAssignor} (sticky) or the {@link RangeAssignor}, the
 * one most of its members prefer in their heartbeats' {@code server_assignor} (ties go to the name
 * first in alphabetical order; uniform when no member has a preference). A member changing its
 * preference bumps the group epoch too. Each member then moves towards its target by reconciliation: partitions
 * it must give up are first revoked (it keeps its member epoch, so it can still commit them, and gets
 * {@link Config#rebalanceTimeoutMs} to do so); once its heartbeat no longer reports them, it gets its
 * target minus partitions still owned by others, and its member epoch becomes the target's epoch. A
 * partition thus never has two owners. A member whose heartbeats stop for its session timeout, or who
 * does not revoke within its rebalance timeout, is removed by {@link #tick}.
 *
 * <h2>Durability</h2>
 * Committed offsets, group deletions and members are {@link OffsetRecord}s of the group's
 * {@code __consumer_offsets} partition ({@link OffsetRecords} encoding), and {@link #completeLoad}
 * rebuilds them by replaying that partition. A member's record holds what a new coordinator needs to
 * go on without the member rejoining: its epochs, its reconciliation state, the partitions it owns
 * or is revoking, and its subscription. A heartbeat that changes any of it is answered only once the
 * record is committed, so a member never acts on an assignment a new coordinator would not know of:
 * after a failover the members keep their partitions and epochs, and no partition gets a second
 * owner while the first still reads it. The target assignment is not kept; a load computes a new
 * one from the members' subscriptions (the sticky assignor starts from what they own), and their
 * sessions start over at the load. Epochs of a new tenure still start above the old tenure's (from
 * the offsets partition's leader epoch): a member whose last change was never committed is known to
 * the new coordinator at an older state, and a request of such a member meets STALE_MEMBER_EPOCH or
 * FENCED_MEMBER_EPOCH rather than an equal epoch. A group with neither members nor offsets has no
 * state left and is forgotten.
 *
 * <h2>Writes</h2>
 * An offset commit or a group deletion is {@linkplain #prepareCommit prepared} into a {@link Write}:
 * the records to append and what to do once they are committed ({@link Write#committed}) or not
 * ({@link Write#failed}). Its state changes only when the write is committed, so what the coordinator
 * reports is always what a new leader would replay. A {@linkplain #prepareHeartbeat heartbeat} and a
 * {@linkplain #prepareTick session check} change membership at once (the next heartbeat must see it)
 * and write the members whose records changed; the answer waits for the write, and a failed one is
 * undone where it can be (a join) or written again with the member's next heartbeat.
 */
public final class GroupCoordinator {
  public static final String OFFSETS_TOPIC = "__consumer_offsets";
  /** Kafka's {@code offsets.topic.num.partitions} default. */
  public static final int DEFAULT_OFFSETS_PARTITIONS = 50;
  static final Comparator<TopicPartition> PARTITION_ORDER =
      Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

  /**
   * Coordinator settings, Kafka's {@code group.consumer.*} in spirit.
   *
   * @param sessionTimeoutMs a member's session when it does not ask for one
   * @param minSessionTimeoutMs lower bound of a session a member asks for
   * @param maxSessionTimeoutMs upper bound of a session a member asks for
   * @param heartbeatIntervalMs the interval members are told to heartbeat at (at most a third of their session)
   * @param rebalanceTimeoutMs how long a member may take to revoke, when it does not say
   * @param maxMetadataBytes the largest commit metadata string (Kafka's offset.metadata.max.bytes)
   */
  public record Config(int sessionTimeoutMs, int minSessionTimeoutMs, int maxSessionTimeoutMs,
      int heartbeatIntervalMs, int rebalanceTimeoutMs, int maxMetadataBytes) {
    public static final Config DEFAULT = new Config(45_000, 6_000, 300_000, 5_000, 300_000, 4096);

    public Config {
      if (minSessionTimeoutMs < 1 || maxSessionTimeoutMs < minSessionTimeoutMs || sessionTimeoutMs < minSessionTimeoutMs
          || sessionTimeoutMs > maxSessionTimeoutMs || heartbeatIntervalMs < 1 || rebalanceTimeoutMs < 1
          || maxMetadataBytes < 0 || maxMetadataBytes > Short.MAX_VALUE) {
        throw new IllegalArgumentException("inconsistent group coordinator config " + this);
      }
    }
  }

  /** Partition counts from the metadata image. */
  @FunctionalInterface
  public interface TopicPartitionCounts {
    /** The number of partitions of {@code topic}, or -1 if it does not exist. */
    int partitionCount(String topic);
  }

  public enum GroupState { EMPTY, STABLE, RECONCILING, DEAD }

  enum MemberState { STABLE, UNREVOKED_PARTITIONS, UNRELEASED_PARTITIONS }

  private static final class Member {
    final String id;
    String clientId = "";
    int epoch;
    int previousEpoch = -1;
    MemberState state = MemberState.STABLE;
    Set<String> subscription = new TreeSet<>();
    int sessionTimeoutMs;
    int rebalanceTimeoutMs;
    long sessionDeadlineMs;
    long revocationDeadlineMs;
    Set<TopicPartition> assigned = new HashSet<>();
    Set<TopicPartition> pendingRevocation = new HashSet<>();
    /** The server assignor this member prefers; empty for none. */
    String serverAssignor = "";
    /** The member value last committed to the log (or replayed); null before the first. */
    byte[] written;

    Member(String id) {
      this.id = id;
    }
  }

  private record Committed(long offset, String metadata, long commitTimestamp, long seq) {}

  private static final class Group {
    final String id;
    final int partition;
    int groupEpoch;
    int assignmentEpoch;
    final Map<String, Member> members = new LinkedHashMap<>();
    Map<String, Set<TopicPartition>> target = new HashMap<>();
    /** The assignor that computed {@link #target}. */
    String assignor = PartitionAssignor.DEFAULT;
    /** Partition counts of the subscribed topics when the target was computed. */
    Map<String, Integer> topicCounts = new HashMap<>();
    /** Who holds each partition (assigned or still revoking it). */
    final Map<TopicPartition, String> owners = new HashMap<>();
    final Map<TopicPartition, Committed> offsets = new HashMap<>();

    Group(String id, int partition) {
      this.id = id;
      this.partition = partition;
    }
  }

  private final Config config;
  private final int numPartitions;
  private final TopicPartitionCounts topics;
  private final Supplier<String> memberIds;
  private final Map<String, Group> groups = new HashMap<>();
  /** Offsets partitions being loaded or loaded, by the generation of their current leadership. */
  private final Map<Integer, Integer> loading = new HashMap<>();
  private final Map<Integer, Integer> loaded = new HashMap<>();
  /** The first group epoch of each partition's current tenure (see {@link #beginLoad(int, int)}). */
  private final Map<Integer, Integer> epochBases = new HashMap<>();
  private int lastGeneration;
  /** Orders writes, so a write committed after a later one of the same key does not undo it. */
  private long lastSeq;

  public GroupCoordinator(Config config, int numPartitions, TopicPartitionCounts topics) {
    this(config, numPartitions, topics, () -> UUID.randomUUID().toString());
  }

  /** @param memberIds generates the ids of members that join without one */
  public GroupCoordinator(Config config, int numPartitions, TopicPartitionCounts topics, Supplier<String> memberIds) {
    if (numPartitions < 1) {
      throw new IllegalArgumentException("offsets partitions must be at least 1, got " + numPartitions);
    }
    this.config = config;
    this.numPartitions = numPartitions;
    this.topics = topics;
    this.memberIds = memberIds;
  }

  /** The {@code __consumer_offsets} partition of a group: Kafka's {@code Utils.abs(groupId.hashCode()) % n}. */
  public static int partitionFor(String groupId, int numPartitions) {
    return (groupId.hashCode() & 0x7fffffff) % numPartitions;
  }

  public int partitionFor(String groupId) {
    return partitionFor(groupId, numPartitions);
  }

  public int numPartitions() {
    return numPartitions;
  }

  public Config config() {
    return config;
  }

  // ---- leadership of offsets partitions ------------------------------------------------------------

  /**
   * This broker now leads {@code partition}: its groups answer COORDINATOR_LOAD_IN_PROGRESS until
   * {@link #completeLoad} with the returned generation.
   */
  public int beginLoad(int partition) {
    return beginLoad(partition, 0);
  }

  /**
   * As {@link #beginLoad(int)}, for the {@code leaderEpoch} in which this broker leads the partition.
   * Group epochs (and so member epochs) of this tenure start at {@link #epochBase}, above every epoch
   * an earlier tenure handed out: a member whose last change never reached the log is replayed at an
   * older state, and a request of that lost state must meet STALE_MEMBER_EPOCH here, not an equal
   * epoch that would accept its commit after the partition's new owner committed more.
   */
  public int beginLoad(int partition, int leaderEpoch) {
    checkPartition(partition);
    dropGroups(partition);
    loaded.remove(partition);
    epochBases.put(partition, epochBase(leaderEpoch));
    int generation = ++lastGeneration;
    loading.put(partition, generation);
    return generation;
  }

  /**
   * The first group epoch of a tenure in {@code leaderEpoch}: 65,536 epochs a tenure. Saturates past
   * leader epoch 16,383 (then only the epochs a group bumps keep it above an older tenure's).
   */
  static int epochBase(int leaderEpoch) {
    return (int) Math.min((long) Math.max(0, leaderEpoch) << 16, 1L << 30);
  }

  /** The group, created (at the tenure's epoch base) if this coordinator does not know it yet. */
  private Group groupOrNew(String groupId, int partition) {
    return groups.computeIfAbsent(groupId, id -> newGroup(id, partition));
  }

  private Group newGroup(String groupId, int partition) {
    Group group = new Group(groupId, partition);
    int base = epochBases.getOrDefault(partition, 0);
    group.groupEpoch = base;
    group.assignmentEpoch = base;
    return group;
  }

  /** As {@link #completeLoad(int, int, List, long)} at time 0 (for tests whose members do not expire). */
  public boolean completeLoad(int partition, int generation, List<OffsetRecord> records) {
    return completeLoad(partition, generation, records, 0);
  }

  /**
   * Replays {@code records} (the whole partition, in order) and starts serving its groups; ignored if
   * leadership changed since {@link #beginLoad} returned {@code generation}. Replayed members' sessions
   * start at {@code nowMs}, and each group with members gets a new target assignment.
   *
   * @return false if ignored
   */
  public boolean completeLoad(int partition, int generation, List<OffsetRecord> records, long nowMs) {
    Integer current = loading.get(partition);
    if (current == null || current != generation) {
      return false;
    }
    loading.remove(partition);
    loaded.put(partition, generation);
    for (OffsetRecord r : records) {
      replay(partition, r, ++lastSeq, true);
    }
    for (Group group : new ArrayList<>(groups.values())) {
      if (group.partition != partition || group.members.isEmpty()) {
        continue;
      }
      group.target = new HashMap<>();
      for (Member m : group.members.values()) {
        m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
        m.revocationDeadlineMs = nowMs + m.rebalanceTimeoutMs;
        // The old target is not kept: the sticky assignor starts from what each member owns.
        group.target.put(m.id, new HashSet<>(m.assigned));
      }
      group.assignmentEpoch = group.groupEpoch;
      bumpAndAssign(group);
    }
    return true;
  }

  /** This broker no longer leads {@code partition}: forget its groups (their state is in the log). */
  public void unload(int partition) {
    loading.remove(partition);
    loaded.remove(partition);
    dropGroups(partition);
  }

  public boolean isLoaded(int partition) {
    return loaded.containsKey(partition);
  }

  public boolean isLoading(int partition) {
    return loading.containsKey(partition);
  }

  /** The generation of {@code partition}'s current load or leadership, or -1 if this broker does not lead it. */
  public int generation(int partition) {
    Integer g = loaded.get(partition);
    if (g == null) {
      g = loading.get(partition);
    }
    return g == null ? -1 : g;
  }

  private void checkPartition(int partition) {
    if (partition < 0 || partition >= numPartitions) {
      throw new IllegalArgumentException("no offsets partition " + partition + " of " + numPartitions);
    }
  }

  private void dropGroups(int partition) {
    groups.values().removeIf(g -> g.partition == partition);
  }

  /** NONE if this coordinator serves {@code groupId} now, else why not. */
  private ErrorCode availability(String groupId) {
    int p = partitionFor(groupId);
    if (loaded.containsKey(p)) {
      return ErrorCode.NONE;
    }
    return loading.containsKey(p) ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NOT_COORDINATOR;
  }

  private static String unavailableMessage(ErrorCode code, String groupId, int partition) {
    return code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        ? "the offsets of group " + groupId + " (" + OFFSETS_TOPIC + "-" + partition + ") are still loading"
        : "this broker is not the coordinator of group " + groupId + " (" + OFFSETS_TOPIC + "-" + partition + ")";
  }

  /** INVALID_REQUEST message for a group id, or null if it is fine. */
  private static String invalidGroupId(String groupId) {
    if (groupId.isEmpty()) {
      return "the group id is empty";
    }
    if (groupId.getBytes(StandardCharsets.UTF_8).length > Short.MAX_VALUE) {
      return "the group id is longer than " + Short.MAX_VALUE + " bytes";
    }
    return null;
  }

  // ---- heartbeat -----------------------------------------------------------------------------------

  /** A heartbeat whose records count as committed at once (for tests of the state machine alone). */
  public ConsumerGroupHeartbeatResponse heartbeat(ConsumerGroupHeartbeatRequest request, long nowMs) {
    return prepareHeartbeat(request, nowMs).committed();
  }

  /**
   * Handles a heartbeat: membership changes at once, and the write holds the record of the member if
   * it changed (its tombstone if it left). Answer with the write's outcome.
   */
  public Write<ConsumerGroupHeartbeatResponse> prepareHeartbeat(ConsumerGroupHeartbeatRequest request, long nowMs) {
    String groupId = request.getGroupId();
    ConsumerGroupHeartbeatResponse response = applyHeartbeat(request, nowMs);
    int partition = invalidGroupId(groupId) == null ? partitionFor(groupId) : 0;
    if (response.getError() != ErrorCode.NONE) {
      return new Write<>(partition, List.of(), () -> response, (code, message) -> response);
    }
    String memberId = response.getMemberId();
    if (response.getMemberEpoch() == -1) {
      // The member has gone either way: a tombstone that is not committed leaves it in the log, and a
      // new coordinator replays it and removes it once its session expires there.
      OffsetRecord gone = OffsetRecords.memberTombstone(groupId, memberId);
      return new Write<>(partition, List.of(gone), () -> response, (code, message) -> response);
    }
    Group group = groups.get(groupId);
    Member member = group.members.get(memberId);
    byte[] value = OffsetRecords.memberValue(memberValue(group, member));
    if (Arrays.equals(value, member.written)) {
      return new Write<>(partition, List.of(), () -> response, (code, message) -> response);
    }
    // Until this write is committed, every heartbeat of the member writes its record again (the same
    // key, harmless) and waits for that, so no answer gets ahead of what the log holds.
    boolean joined = request.getMemberEpoch() == 0;
    OffsetRecord record = new OffsetRecord(OffsetRecords.memberKey(groupId, memberId), value);
    return new Write<>(partition, List.of(record), () -> {
      if (groups.get(groupId) == group && group.members.get(memberId) == member) {
        member.written = value;
      }
      return response;
    }, (code, message) -> {
      if (joined && groups.get(groupId) == group && group.members.get(memberId) == member) {
        // The member never learns its id or assignment: keeping it would keep its partitions from
        // the others until its session expired.
        removeMember(group, member);
      }
      return heartbeatError(code, message);
    });
  }

  private MemberValue memberValue(Group group, Member m) {
    return new MemberValue(m.epoch, m.previousEpoch, m.state.ordinal(), m.clientId, m.serverAssignor,
        m.sessionTimeoutMs, m.rebalanceTimeoutMs, group.groupEpoch, m.subscription, m.assigned, m.pendingRevocation);
  }

  private ConsumerGroupHeartbeatResponse applyHeartbeat(ConsumerGroupHeartbeatRequest request, long nowMs) {
    String groupId = request.getGroupId();
    String invalid = invalidGroupId(groupId);
    if (invalid != null) {
      return heartbeatError(ErrorCode.INVALID_REQUEST, invalid);
    }
    ErrorCode availability = availability(groupId);
    if (availability != ErrorCode.NONE) {
      return heartbeatError(availability, unavailableMessage(availability, groupId, partitionFor(groupId)));
    }
    int epoch = request.getMemberEpoch();
    if (epoch < -1) {
      return heartbeatError(ErrorCode.INVALID_REQUEST, "member epoch " + epoch + " (static membership is not supported)");
    }
    if (request.getRebalanceTimeoutMs() < 0 || request.getSessionTimeoutMs() < 0) {
      return heartbeatError(ErrorCode.INVALID_REQUEST, "negative timeout");
    }
    Group group = groups.get(groupId);
    String memberId = request.getMemberId();
    if (epoch == -1) {
      Member leaving = group == null ? null : group.members.get(memberId);
      if (leaving == null) {
        return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, "member '" + memberId + "' is not in group " + groupId);
      }
      removeMember(group, leaving);
      return ConsumerGroupHeartbeatResponse.newBuilder().setError(ErrorCode.NONE).setMemberId(memberId)
          .setMemberEpoch(-1).build();
    }
    String serverAssignor = request.getServerAssignor().trim();
    if (!serverAssignor.isEmpty() && !PartitionAssignor.BY_NAME.containsKey(serverAssignor)) {
      return heartbeatError(ErrorCode.UNSUPPORTED_ASSIGNOR, "server assignor '" + serverAssignor
          + "' is not supported; use one of " + new TreeSet<>(PartitionAssignor.BY_NAME.keySet()));
    }
    String tooLong = tooLongForTheLog(request);
    if (tooLong != null) {
      return heartbeatError(ErrorCode.INVALID_REQUEST, tooLong);
    }
    Set<TopicPartition> owned = toSet(request.getOwnedPartitionsList());
    Set<String> subscription = new TreeSet<>(request.getSubscribedTopicNamesList());
    subscription.remove("");
    Member member;
    boolean bump = false;
    if (epoch == 0) {
      if (group == null) {
        group = groupOrNew(groupId, partitionFor(groupId));
      }
      if (memberId.isEmpty()) {
        memberId = memberIds.get();
      }
      Member previous = group.members.get(memberId);
      if (previous != null) {
        // Rejoining (after being fenced, say): the old incarnation and its partitions are gone.
        dropMember(group, previous);
      }
      member = new Member(memberId);
      member.subscription = subscription;
      member.serverAssignor = serverAssignor;
      group.members.put(memberId, member);
      bump = true;
      owned = Set.of();
    } else {
      member = group == null ? null : group.members.get(memberId);
      if (member == null) {
        return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, "member '" + memberId + "' is not in group " + groupId);
      }
      if (epoch > member.epoch || (epoch < member.epoch
          && (epoch != member.previousEpoch || !member.assigned.containsAll(owned)))) {
        return heartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, "member '" + memberId + "' sent epoch " + epoch
            + " but its epoch is " + member.epoch + "; rejoin with epoch 0");
      }
      if (!subscription.equals(member.subscription)) {
        member.subscription = subscription;
        bump = true;
      }
      if (!serverAssignor.equals(member.serverAssignor)) {
        member.serverAssignor = serverAssignor;
        bump = true;
      }
    }
    member.clientId = request.getClientId();
    member.sessionTimeoutMs = request.getSessionTimeoutMs() == 0 ? config.sessionTimeoutMs()
        : Math.max(config.minSessionTimeoutMs(), Math.min(config.maxSessionTimeoutMs(), request.getSessionTimeoutMs()));
    member.rebalanceTimeoutMs = request.getRebalanceTimeoutMs() == 0 ? config.rebalanceTimeoutMs()
        : request.getRebalanceTimeoutMs();
    member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
    if (bump || topicCountsChanged(group)) {
      bumpAndAssign(group);
    }
    reconcile(group, member, owned, nowMs);
    return ConsumerGroupHeartbeatResponse.newBuilder().setError(ErrorCode.NONE).setMemberId(member.id)
        .setMemberEpoch(member.epoch)
        .setHeartbeatIntervalMs(Math.max(1, Math.min(config.heartbeatIntervalMs(), member.sessionTimeoutMs / 3)))
        .addAllAssignment(toTopicPartitions(member.assigned)).build();
  }

  /** Why a member's record could not hold what the heartbeat says (a string over its length field), or null. */
  private static String tooLongForTheLog(ConsumerGroupHeartbeatRequest request) {
    if (request.getMemberId().getBytes(StandardCharsets.UTF_8).length > Short.MAX_VALUE
        || request.getClientId().getBytes(StandardCharsets.UTF_8).length > Short.MAX_VALUE) {
      return "the member id or client id is longer than " + Short.MAX_VALUE + " bytes";
    }
    if (request.getSubscribedTopicNamesCount() > Short.MAX_VALUE) {
      return "a subscription of more than " + Short.MAX_VALUE + " topics";
    }
    for (String topic : request.getSubscribedTopicNamesList()) {
      if (topic.getBytes(StandardCharsets.UTF_8).length > Short.MAX_VALUE) {
        return "a subscribed topic name is longer than " + Short.MAX_VALUE + " bytes";
      }
    }
    return null;
  }

  private static ConsumerGroupHeartbeatResponse heartbeatError(ErrorCode code, String message) {
    return ConsumerGroupHeartbeatResponse.newBuilder().setError(code).setErrorMessage(message).build();
  }

  private boolean topicCountsChanged(Group group) {
    for (Map.Entry<String, Integer> e : group.topicCounts.entrySet()) {
      if (topics.partitionCount(e.getKey()) != e.getValue()) {
        return true;
      }
    }
    return false;
  }

  /** A new group epoch and the target assignment at it. */
  private void bumpAndAssign(Group group) {
    group.groupEpoch++;
    Map<String, Set<String>> subscriptions = new TreeMap<>();
    Map<String, Integer> counts = new HashMap<>();
    for (Member m : group.members.values()) {
      subscriptions.put(m.id, m.subscription);
      for (String t : m.subscription) {
        counts.computeIfAbsent(t, topics::partitionCount);
      }
    }
    group.assignor = chooseAssignor(group);
    group.target = PartitionAssignor.BY_NAME.get(group.assignor)
        .assign(subscriptions, t -> counts.getOrDefault(t, -1), group.target);
    group.topicCounts = counts;
    group.assignmentEpoch = group.groupEpoch;
  }

  /** The assignor most members prefer; ties by name, the default when none has a preference. */
  private static String chooseAssignor(Group group) {
    Map<String, Integer> votes = new TreeMap<>();
    for (Member m : group.members.values()) {
      if (!m.serverAssignor.isEmpty()) {
        votes.merge(m.serverAssignor, 1, Integer::sum);
      }
    }
    String chosen = PartitionAssignor.DEFAULT;
    int most = 0;
    for (Map.Entry<String, Integer> e : votes.entrySet()) {
      if (e.getValue() > most) {
        chosen = e.getKey();
        most = e.getValue();
      }
    }
    return chosen;
  }

  /** The assignor of {@code groupId}'s current target, or null if this coordinator does not know the group. */
  public String assignor(String groupId) {
    Group g = groups.get(groupId);
    return g == null ? null : g.assignor;
  }

  /**
   * Moves {@code member} towards its target, given the partitions its heartbeat says it still owns
   * (KIP-848's reconciliation: revoke first, then assign what others have released).
   */
  private void reconcile(Group group, Member member, Set<TopicPartition> owned, long nowMs) {
    if (member.state == MemberState.UNREVOKED_PARTITIONS) {
      for (TopicPartition tp : member.pendingRevocation) {
        if (owned.contains(tp)) {
          return; // still revoking
        }
      }
      setAssignment(group, member, member.assigned, Set.of());
      member.state = MemberState.STABLE;
    }
    if (member.epoch == group.assignmentEpoch && member.state == MemberState.STABLE) {
      return;
    }
    Set<TopicPartition> target = group.target.getOrDefault(member.id, Set.of());
    Set<TopicPartition> keep = new HashSet<>();
    Set<TopicPartition> revoke = new HashSet<>();
    for (TopicPartition tp : member.assigned) {
      (target.contains(tp) ? keep : revoke).add(tp);
    }
    if (!revoke.isEmpty()) {
      setAssignment(group, member, keep, revoke);
      member.state = MemberState.UNREVOKED_PARTITIONS;
      member.revocationDeadlineMs = nowMs + member.rebalanceTimeoutMs;
      return;
    }
    boolean unreleased = false;
    for (TopicPartition tp : target) {
      if (!keep.contains(tp)) {
        String owner = group.owners.get(tp);
        if (owner == null || owner.equals(member.id)) {
          keep.add(tp);
        } else {
          unreleased = true;
        }
      }
    }
    setAssignment(group, member, keep, Set.of());
    if (member.epoch != group.assignmentEpoch) {
      member.previousEpoch = member.epoch;
      member.epoch = group.assignmentEpoch;
    }
    member.state = unreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE;
  }

  private static void setAssignment(Group group, Member member, Set<TopicPartition> assigned,
      Set<TopicPartition> pendingRevocation) {
    releaseAll(group, member);
    member.assigned = new HashSet<>(assigned);
    member.pendingRevocation = new HashSet<>(pendingRevocation);
    member.assigned.forEach(tp -> group.owners.put(tp, member.id));
    member.pendingRevocation.forEach(tp -> group.owners.put(tp, member.id));
  }

  private static void releaseAll(Group group, Member member) {
    for (TopicPartition tp : member.assigned) {
      group.owners.remove(tp, member.id);
    }
    for (TopicPartition tp : member.pendingRevocation) {
      group.owners.remove(tp, member.id);
    }
  }

  /** Removes a member without a new assignment (the caller computes one). */
  private static void dropMember(Group group, Member member) {
    releaseAll(group, member);
    group.members.remove(member.id);
    group.target.remove(member.id);
  }

  private void removeMember(Group group, Member member) {
    dropMember(group, member);
    bumpAndAssign(group);
    forgetIfEmpty(group);
  }

  private void forgetIfEmpty(Group group) {
    if (group.members.isEmpty() && group.offsets.isEmpty()) {
      groups.remove(group.id, group);
    }
  }

  /** As {@link #prepareTick}, its tombstones counted as committed at once (for tests of the state machine alone). */
  public List<String> tick(long nowMs) {
    List<String> removed = new ArrayList<>();
    prepareTick(nowMs).forEach(w -> removed.addAll(w.committed()));
    return removed;
  }

  /**
   * Removes members whose session expired or who did not revoke within their rebalance timeout.
   *
   * @return one write of their tombstones per offsets partition, each answering the members it
   *     removed as {@code group/member}
   */
  public List<Write<List<String>>> prepareTick(long nowMs) {
    Map<Integer, List<String>> removedBy = new TreeMap<>();
    Map<Integer, List<OffsetRecord>> tombstones = new HashMap<>();
    for (Group group : new ArrayList<>(groups.values())) {
      List<Member> expired = new ArrayList<>();
      for (Member m : group.members.values()) {
        if (nowMs >= m.sessionDeadlineMs
            || (m.state == MemberState.UNREVOKED_PARTITIONS && nowMs >= m.revocationDeadlineMs)) {
          expired.add(m);
        }
      }
      if (!expired.isEmpty()) {
        expired.forEach(m -> {
          dropMember(group, m);
          removedBy.computeIfAbsent(group.partition, p -> new ArrayList<>()).add(group.id + "/" + m.id);
          tombstones.computeIfAbsent(group.partition, p -> new ArrayList<>())
              .add(OffsetRecords.memberTombstone(group.id, m.id));
        });
        bumpAndAssign(group);
        forgetIfEmpty(group);
      }
    }
    List<Write<List<String>>> writes = new ArrayList<>();
    // A tombstone that is not committed leaves the member in the log; a new coordinator replays it and
    // removes it again once its session expires there.
    removedBy.forEach((partition, removed) -> writes.add(new Write<>(partition, tombstones.get(partition),
        () -> removed, (code, message) -> removed)));
    return writes;
  }

  // ---- offsets -------------------------------------------------------------------------------------

  /**
   * A prepared change: the records to append to {@code __consumer_offsets} partition
   * {@link #partition()} (none if the request was refused outright), and the answer once they are
   * committed or not.
   */
  public final class Write<R> {
    private final int partition;
    private final int generation;
    private final long seq;
    private final List<OffsetRecord> records;
    private final Supplier<R> onCommitted;
    private final BiFunction<ErrorCode, String, R> onFailed;

    private Write(int partition, List<OffsetRecord> records, Supplier<R> onCommitted,
        BiFunction<ErrorCode, String, R> onFailed) {
      this.partition = partition;
      this.generation = generation(partition);
      this.seq = records.isEmpty() ? 0 : ++lastSeq;
      this.records = List.copyOf(records);
      this.onCommitted = onCommitted;
      this.onFailed = onFailed;
    }

    public int partition() {
      return partition;
    }

    public List<OffsetRecord> records() {
      return records;
    }

    /**
     * The records are committed: apply them (unless leadership of the partition changed meanwhile; a
     * new leader replays them from the log) and answer.
     */
    public R committed() {
      Integer current = loaded.get(partition);
      if (current != null && current == generation) {
        for (OffsetRecord r : records) {
          replay(partition, r, seq, false);
        }
      }
      return onCommitted.get();
    }

    /** The records could not be committed: answer {@code code} for what they would have changed. */
    public R failed(ErrorCode code, String message) {
      return onFailed.apply(code, message);
    }
  }

  /**
   * Validates an offset commit: a member commits with its id and current epoch; an admin commit
   * (empty member id, negative epoch) only while the group has no members.
   */
  public Write<OffsetCommitResponse> prepareCommit(OffsetCommitRequest request, long nowMs) {
    String groupId = request.getGroupId();
    int partition = partitionFor(groupId);
    ErrorCode groupError = ErrorCode.NONE;
    String groupMessage = "";
    String invalid = invalidGroupId(groupId);
    ErrorCode availability = invalid != null ? ErrorCode.INVALID_REQUEST : availability(groupId);
    Group group = groups.get(groupId);
    String memberId = request.getMemberId();
    int epoch = request.getMemberEpoch();
    if (invalid != null) {
      groupError = ErrorCode.INVALID_REQUEST;
      groupMessage = invalid;
    } else if (availability != ErrorCode.NONE) {
      groupError = availability;
      groupMessage = unavailableMessage(availability, groupId, partition);
    } else if (memberId.isEmpty()) {
      if (epoch >= 0) {
        groupError = ErrorCode.INVALID_REQUEST;
        groupMessage = "an admin commit (no member id) must have member epoch -1";
      } else if (group != null && !group.members.isEmpty()) {
        groupError = ErrorCode.NON_EMPTY_GROUP;
        groupMessage = "group " + groupId + " has " + group.members.size()
            + " members; offsets can be reset only while it has none";
      }
    } else {
      Member member = group == null ? null : group.members.get(memberId);
      if (member == null) {
        groupError = ErrorCode.UNKNOWN_MEMBER_ID;
        groupMessage = "member '" + memberId + "' is not in group " + groupId;
      } else if (epoch > member.epoch) {
        groupError = ErrorCode.FENCED_MEMBER_EPOCH;
        groupMessage = "member epoch " + epoch + " is newer than the member's epoch " + member.epoch;
      } else if (epoch < member.epoch) {
        groupError = ErrorCode.STALE_MEMBER_EPOCH;
        groupMessage = "member epoch " + epoch + " is older than the member's epoch " + member.epoch;
      }
    }
    OffsetCommitResponse.Builder refused = OffsetCommitResponse.newBuilder();
    List<OffsetCommitPartition> accepted = new ArrayList<>();
    List<OffsetRecord> records = new ArrayList<>();
    for (OffsetCommitPartition p : request.getPartitionsList()) {
      ErrorCode code = groupError;
      String message = groupMessage;
      if (code == ErrorCode.NONE) {
        int count = p.getTopic().isEmpty() ? -1 : topics.partitionCount(p.getTopic());
        if (p.getOffset() < 0) {
          code = ErrorCode.INVALID_REQUEST;
          message = "negative offset " + p.getOffset();
        } else if (count < 0 || p.getPartition() < 0 || p.getPartition() >= count) {
          code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          message = "no partition " + p.getTopic() + "-" + p.getPartition();
        } else if (p.getMetadata().getBytes(StandardCharsets.UTF_8).length > config.maxMetadataBytes()) {
          code = ErrorCode.OFFSET_METADATA_TOO_LARGE;
          message = "metadata is longer than " + config.maxMetadataBytes() + " bytes";
        }
      }
      if (code == ErrorCode.NONE) {
        accepted.add(p);
        records.add(OffsetRecords.offsetCommit(groupId, p.getTopic(), p.getPartition(), p.getOffset(), p.getMetadata(),
            nowMs));
      } else {
        refused.addResults(commitResult(p, code, message));
      }
    }
    OffsetCommitResponse done = refused.build();
    return new Write<>(partition, records, () -> {
      OffsetCommitResponse.Builder r = done.toBuilder();
      accepted.forEach(p -> r.addResults(commitResult(p, ErrorCode.NONE, "")));
      return r.build();
    }, (code, message) -> {
      OffsetCommitResponse.Builder r = done.toBuilder();
      accepted.forEach(p -> r.addResults(commitResult(p, code, message)));
      return r.build();
    });
  }

  private static OffsetCommitPartitionResult commitResult(OffsetCommitPartition p, ErrorCode code, String message) {
    return OffsetCommitPartitionResult.newBuilder().setTopic(p.getTopic()).setPartition(p.getPartition())
        .setError(code).setErrorMessage(message).build();
  }

  /** Committed offsets of the requested partitions (-1 where none), or of every partition if none are named. */
  public OffsetFetchResponse fetchOffsets(OffsetFetchRequest request) {
    String groupId = request.getGroupId();
    String invalid = invalidGroupId(groupId);
    if (invalid != null) {
      return OffsetFetchResponse.newBuilder().setError(ErrorCode.INVALID_REQUEST).setErrorMessage(invalid).build();
    }
    ErrorCode availability = availability(groupId);
    if (availability != ErrorCode.NONE) {
      return OffsetFetchResponse.newBuilder().setError(availability)
          .setErrorMessage(unavailableMessage(availability, groupId, partitionFor(groupId))).build();
    }
    Group group = groups.get(groupId);
    Map<TopicPartition, Committed> offsets = group == null ? Map.of() : group.offsets;
    OffsetFetchResponse.Builder response = OffsetFetchResponse.newBuilder().setError(ErrorCode.NONE);
    if (request.getPartitionsCount() == 0) {
      response.addAllOffsets(committedOffsets(offsets));
    } else {
      for (TopicPartitions tps : request.getPartitionsList()) {
        for (int p : tps.getPartitionsList()) {
          Committed c = offsets.get(new TopicPartition(tps.getTopic(), p));
          response.addOffsets(committedOffset(new TopicPartition(tps.getTopic(), p), c));
        }
      }
    }
    return response.build();
  }

  private static List<CommittedOffset> committedOffsets(Map<TopicPartition, Committed> offsets) {
    Map<TopicPartition, Committed> sorted = new TreeMap<>(PARTITION_ORDER);
    sorted.putAll(offsets);
    List<CommittedOffset> out = new ArrayList<>();
    sorted.forEach((tp, c) -> out.add(committedOffset(tp, c)));
    return out;
  }

  private static CommittedOffset committedOffset(TopicPartition tp, Committed c) {
    CommittedOffset.Builder b = CommittedOffset.newBuilder().setTopic(tp.topic()).setPartition(tp.partition());
    if (c == null) {
      return b.setOffset(-1).build();
    }
    return b.setOffset(c.offset()).setMetadata(c.metadata()).setCommitTimestamp(c.commitTimestamp()).build();
  }

  /** Validates deleting a group: it must exist here and have no members. */
  public Write<DeleteGroupResult> prepareDelete(String groupId) {
    int partition = invalidGroupId(groupId) == null ? partitionFor(groupId) : 0;
    BiFunction<ErrorCode, String, DeleteGroupResult> result = (code, message) -> DeleteGroupResult.newBuilder()
        .setGroupId(groupId).setError(code).setErrorMessage(message).build();
    String invalid = invalidGroupId(groupId);
    ErrorCode availability = invalid != null ? ErrorCode.INVALID_REQUEST : availability(groupId);
    Group group = groups.get(groupId);
    ErrorCode refusal = ErrorCode.NONE;
    String message = "";
    if (invalid != null) {
      refusal = ErrorCode.INVALID_REQUEST;
      message = invalid;
    } else if (availability != ErrorCode.NONE) {
      refusal = availability;
      message = unavailableMessage(availability, groupId, partition);
    } else if (group == null) {
      refusal = ErrorCode.GROUP_ID_NOT_FOUND;
      message = "no group " + groupId;
    } else if (!group.members.isEmpty()) {
      refusal = ErrorCode.NON_EMPTY_GROUP;
      message = "group " + groupId + " has " + group.members.size() + " members";
    }
    if (refusal != ErrorCode.NONE) {
      DeleteGroupResult refused = result.apply(refusal, message);
      return new Write<>(partition, List.of(), () -> refused, (c, m) -> refused);
    }
    List<OffsetRecord> records = new ArrayList<>();
    Set<TopicPartition> committed = new TreeSet<>(PARTITION_ORDER);
    committed.addAll(group.offsets.keySet());
    committed.forEach(tp -> records.add(OffsetRecords.offsetTombstone(groupId, tp.topic(), tp.partition())));
    records.add(OffsetRecords.groupTombstone(groupId));
    return new Write<>(partition, records, () -> result.apply(ErrorCode.NONE, ""), result);
  }

  /**
   * Applies one record of {@code partition}: every kind during a load; once a write is committed, only
   * offsets and deletions (membership changed when the write was prepared).
   */
  private void replay(int partition, OffsetRecord record, long seq, boolean loading) {
    OffsetRecords.Key key;
    try {
      key = OffsetRecords.readKey(record.key());
    } catch (IllegalArgumentException e) {
      return; // not ours to interpret; compaction keeps it, replay skips it
    }
    if (key == null || partitionFor(key.group()) != partition) {
      return;
    }
    Group group = groups.get(key.group());
    if (key.isMember()) {
      if (loading) {
        replayMember(partition, key, record);
      }
      return;
    }
    if (key.isGroup()) {
      if (record.isTombstone() && group != null) {
        group.offsets.values().removeIf(c -> c.seq() < seq);
        forgetIfEmpty(group);
      }
      return;
    }
    TopicPartition tp = new TopicPartition(key.topic(), key.partition());
    if (record.isTombstone()) {
      if (group != null) {
        Committed c = group.offsets.get(tp);
        if (c != null && c.seq() < seq) {
          group.offsets.remove(tp);
        }
        forgetIfEmpty(group);
      }
      return;
    }
    OffsetRecords.OffsetValue value;
    try {
      value = OffsetRecords.readOffsetValue(record.value());
    } catch (IllegalArgumentException e) {
      return;
    }
    if (group == null) {
      group = groupOrNew(key.group(), partition);
    }
    Committed existing = group.offsets.get(tp);
    if (existing == null || existing.seq() < seq) {
      group.offsets.put(tp, new Committed(value.offset(), value.metadata(), value.commitTimestamp(), seq));
    }
  }

  private void replayMember(int partition, OffsetRecords.Key key, OffsetRecord record) {
    Group group = groups.get(key.group());
    Member previous = group == null ? null : group.members.get(key.member());
    if (record.isTombstone()) {
      if (previous != null) {
        dropMember(group, previous);
        forgetIfEmpty(group);
      }
      return;
    }
    MemberValue v;
    try {
      v = OffsetRecords.readMemberValue(record.value());
    } catch (IllegalArgumentException e) {
      return;
    }
    if (group == null) {
      group = groupOrNew(key.group(), partition);
    }
    if (previous != null) {
      dropMember(group, previous);
    }
    Member m = new Member(key.member());
    m.epoch = v.epoch();
    m.previousEpoch = v.previousEpoch();
    MemberState[] states = MemberState.values();
    m.state = v.state() >= 0 && v.state() < states.length ? states[v.state()] : MemberState.STABLE;
    m.clientId = v.clientId();
    m.serverAssignor = v.serverAssignor();
    m.sessionTimeoutMs = v.sessionTimeoutMs() > 0 ? v.sessionTimeoutMs() : config.sessionTimeoutMs();
    m.rebalanceTimeoutMs = v.rebalanceTimeoutMs() > 0 ? v.rebalanceTimeoutMs() : config.rebalanceTimeoutMs();
    m.subscription = new TreeSet<>(v.subscription());
    m.written = record.value();
    group.members.put(m.id, m);
    setAssignment(group, m, v.assigned(), v.pendingRevocation());
    group.groupEpoch = Math.max(group.groupEpoch, Math.max(v.groupEpoch(), m.epoch));
  }

  // ---- describing ----------------------------------------------------------------------------------

  /** The groups of the partitions this broker leads (loaded ones), filtered by state names if any given. */
  public ListGroupsResponse listGroups(Collection<String> states) {
    ListGroupsResponse.Builder response = ListGroupsResponse.newBuilder().setError(ErrorCode.NONE);
    if (!loading.isEmpty()) {
      response.setError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
          .setErrorMessage("offsets partitions " + new TreeSet<>(loading.keySet()) + " are still loading");
    }
    new TreeMap<>(groups).forEach((id, g) -> {
      String state = state(g).name();
      if (states.isEmpty() || states.contains(state)) {
        response.addGroups(GroupListing.newBuilder().setGroupId(id).setState(state));
      }
    });
    return response.build();
  }

  public DescribedGroup describe(String groupId) {
    DescribedGroup.Builder d = DescribedGroup.newBuilder().setGroupId(groupId).setState(GroupState.DEAD.name());
    String invalid = invalidGroupId(groupId);
    if (invalid != null) {
      return d.setError(ErrorCode.INVALID_REQUEST).setErrorMessage(invalid).build();
    }
    ErrorCode availability = availability(groupId);
    if (availability != ErrorCode.NONE) {
      return d.setError(availability).setErrorMessage(unavailableMessage(availability, groupId, partitionFor(groupId)))
          .build();
    }
    Group g = groups.get(groupId);
    if (g == null) {
      return d.setError(ErrorCode.GROUP_ID_NOT_FOUND).setErrorMessage("no group " + groupId).build();
    }
    d.setError(ErrorCode.NONE).setState(state(g).name()).setGroupEpoch(g.groupEpoch).setAssignmentEpoch(g.assignmentEpoch);
    for (Member m : g.members.values()) {
      d.addMembers(GroupMember.newBuilder().setMemberId(m.id).setClientId(m.clientId).setMemberEpoch(m.epoch)
          .addAllSubscribedTopicNames(m.subscription).addAllAssignment(toTopicPartitions(m.assigned))
          .addAllTargetAssignment(toTopicPartitions(g.target.getOrDefault(m.id, Set.of()))));
    }
    d.addAllOffsets(committedOffsets(g.offsets));
    return d.build();
  }

  /** The state of a group, DEAD if this coordinator does not know it. */
  public GroupState state(String groupId) {
    Group g = groups.get(groupId);
    return g == null ? GroupState.DEAD : state(g);
  }

  private static GroupState state(Group g) {
    if (g.members.isEmpty()) {
      return GroupState.EMPTY;
    }
    for (Member m : g.members.values()) {
      if (m.state != MemberState.STABLE || m.epoch != g.assignmentEpoch) {
        return GroupState.RECONCILING;
      }
    }
    return GroupState.STABLE;
  }

  static Set<TopicPartition> toSet(List<TopicPartitions> list) {
    Set<TopicPartition> out = new HashSet<>();
    for (TopicPartitions tps : list) {
      for (int p : tps.getPartitionsList()) {
        out.add(new TopicPartition(tps.getTopic(), p));
      }
    }
    return out;
  }

  static List<TopicPartitions> toTopicPartitions(Set<TopicPartition> partitions) {
    Map<String, TreeSet<Integer>> byTopic = new TreeMap<>();
    partitions.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), t -> new TreeSet<>()).add(tp.partition()));
    List<TopicPartitions> out = new ArrayList<>();
    byTopic.forEach((t, ps) -> out.add(TopicPartitions.newBuilder().setTopic(t).addAllPartitions(ps).build()));
    return out;
  }
}
