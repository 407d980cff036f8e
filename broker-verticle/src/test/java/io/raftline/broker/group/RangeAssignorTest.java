package io.raftline.broker.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.TopicPartition;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.group.ConsumerGroupHeartbeatRequest;
import io.raftline.protocol.group.ConsumerGroupHeartbeatResponse;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The range assignor, and how a group picks its assignor from its members' server_assignor. */
class RangeAssignorTest {
  private static final Map<String, Integer> COUNTS = Map.of("a", 7, "b", 7, "c", 2);

  private static Set<TopicPartition> tps(String topic, int... partitions) {
    Set<TopicPartition> out = new HashSet<>();
    for (int p : partitions) {
      out.add(new TopicPartition(topic, p));
    }
    return out;
  }

  private static Map<String, Set<TopicPartition>> assign(Map<String, Set<String>> subscriptions) {
    return RangeAssignor.assign(subscriptions, t -> COUNTS.getOrDefault(t, -1), Map.of());
  }

  @Test
  void membersInIdOrderTakeConsecutiveRangesTheFirstOnesOneMore() {
    Map<String, Set<TopicPartition>> target = assign(Map.of("m1", Set.of("a"), "m2", Set.of("a"), "m3", Set.of("a")));
    assertEquals(tps("a", 0, 1, 2), target.get("m1"));
    assertEquals(tps("a", 3, 4), target.get("m2"));
    assertEquals(tps("a", 5, 6), target.get("m3"));
  }

  @Test
  void topicsWithEqualCountsAreCoPartitioned() {
    Map<String, Set<TopicPartition>> target = assign(Map.of("x", Set.of("a", "b"), "y", Set.of("a", "b")));
    for (String m : List.of("x", "y")) {
      Set<Integer> ofA = new TreeSet<>();
      Set<Integer> ofB = new TreeSet<>();
      target.get(m).forEach(tp -> (tp.topic().equals("a") ? ofA : ofB).add(tp.partition()));
      assertEquals(ofA, ofB, "member " + m + " should hold the same partitions of a and b");
    }
    assertEquals(8, target.get("x").size());
  }

  @Test
  void onlySubscribersShareATopicAndMissingTopicsAndSurplusMembersGetNothing() {
    Map<String, Set<TopicPartition>> target = assign(Map.of("m1", Set.of("c", "nope"), "m2", Set.of("c"),
        "m3", Set.of("c"), "m4", Set.of("a")));
    assertEquals(tps("c", 0), target.get("m1"));
    assertEquals(tps("c", 1), target.get("m2"));
    assertEquals(Set.of(), target.get("m3"));
    assertEquals(tps("a", 0, 1, 2, 3, 4, 5, 6), target.get("m4"));
  }

  @Test
  void everyPartitionHasExactlyOneOwnerAndSharesDifferByAtMostOne() {
    for (int members = 1; members <= 9; members++) {
      Map<String, Set<String>> subs = new java.util.TreeMap<>();
      for (int i = 0; i < members; i++) {
        subs.put("m" + i, Set.of("a"));
      }
      Map<String, Set<TopicPartition>> target = assign(subs);
      Set<TopicPartition> all = new HashSet<>();
      int min = Integer.MAX_VALUE;
      int max = 0;
      for (Set<TopicPartition> share : target.values()) {
        share.forEach(tp -> assertTrue(all.add(tp), tp + " given twice"));
        min = Math.min(min, share.size());
        max = Math.max(max, share.size());
      }
      assertEquals(7, all.size());
      assertTrue(max - min <= 1, members + " members: shares " + min + ".." + max);
    }
  }

  // ---- selection in the coordinator --------------------------------------------------------------

  private final Map<String, Integer> topics = Map.of("t", 12);
  private int nextId;
  private final GroupCoordinator coordinator = loaded(new GroupCoordinator(GroupCoordinator.Config.DEFAULT, 1,
      t -> topics.getOrDefault(t, -1), () -> "m" + (++nextId)));

  private static GroupCoordinator loaded(GroupCoordinator c) {
    assertTrue(c.completeLoad(0, c.beginLoad(0), List.of()));
    return c;
  }

  private ConsumerGroupHeartbeatResponse join(String assignor) {
    return coordinator.heartbeat(ConsumerGroupHeartbeatRequest.newBuilder().setGroupId("g").setMemberEpoch(0)
        .addSubscribedTopicNames("t").setServerAssignor(assignor).build(), 1_000);
  }

  @Test
  void anUnknownAssignorIsRefusedWithUnsupportedAssignor() {
    ConsumerGroupHeartbeatResponse r = join("sticky-ish");
    assertEquals(ErrorCode.UNSUPPORTED_ASSIGNOR, r.getError());
    assertTrue(r.getErrorMessage().contains("sticky-ish") && r.getErrorMessage().contains("range"), r.getErrorMessage());
    assertEquals(null, coordinator.assignor("g"), "a refused member must not create the group");
  }

  @Test
  void theGroupUsesTheAssignorMostMembersPreferAndUniformWithoutPreference() {
    assertEquals(ErrorCode.NONE, join("").getError());
    assertEquals("uniform", coordinator.assignor("g"));
    assertEquals(ErrorCode.NONE, join("range").getError());
    assertEquals("range", coordinator.assignor("g"), "one preference among members without one wins");
    assertEquals(ErrorCode.NONE, join("uniform").getError());
    assertEquals("range", coordinator.assignor("g"), "a tie goes to the first name");
    assertEquals(ErrorCode.NONE, join("uniform").getError());
    assertEquals("uniform", coordinator.assignor("g"));
  }

  @Test
  void aRangeGroupTargetsConsecutiveRanges() {
    join("range");
    join("range");
    join("range");
    assertEquals("range", coordinator.assignor("g"));
    Map<String, Set<TopicPartition>> targets = new java.util.TreeMap<>();
    coordinator.describe("g").getMembersList().forEach(m ->
        targets.put(m.getMemberId(), GroupCoordinator.toSet(m.getTargetAssignmentList())));
    assertEquals(Map.of("m1", tps("t", 0, 1, 2, 3), "m2", tps("t", 4, 5, 6, 7), "m3", tps("t", 8, 9, 10, 11)), targets);
  }
}
