package io.raftline.client;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A consumer group as its coordinator sees it, with the lag of each partition it has an offset for or
 * assigned.
 *
 * @param state EMPTY (no members), STABLE (every member has its target assignment) or RECONCILING
 * @param groupEpoch bumped on every membership or subscription change
 * @param assignmentEpoch the group epoch the target assignment was computed at
 * @param offsets per partition: committed offset, log end offset and lag
 */
public record ConsumerGroupDescription(String groupId, String state, int groupEpoch, int assignmentEpoch,
    List<Member> members, Map<TopicPartition, OffsetLag> offsets) {

  /**
   * A member: what it may read now ({@code assignment}) and what the assignor wants it to read once
   * other members have released partitions ({@code targetAssignment}).
   */
  public record Member(String memberId, String clientId, int memberEpoch, List<String> subscribedTopics,
      Set<TopicPartition> assignment, Set<TopicPartition> targetAssignment) {}

  /**
   * @param committedOffset the group's committed offset, -1 if none
   * @param logEndOffset the partition's next offset, -1 if its leader could not be asked
   * @param lag records between them, -1 if either is unknown
   */
  public record OffsetLag(long committedOffset, long logEndOffset, long lag) {}

  /** The total lag over partitions where it is known. */
  public long totalLag() {
    return offsets.values().stream().mapToLong(OffsetLag::lag).filter(l -> l > 0).sum();
  }
}
