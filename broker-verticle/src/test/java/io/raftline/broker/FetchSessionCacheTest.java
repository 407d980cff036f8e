package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.raftline.metadata.TopicPartition;
import io.raftline.protocol.FetcherSession;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.EpochEndOffset;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import io.raftline.protocol.client.PartitionRef;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The leader's fetch sessions, and a follower's side of one, driven together the way a replica fetch
 * loop and the broker use them: what each fetch names, what the broker reads, and what it answers.
 */
class FetchSessionCacheTest {
  private static final int FOLLOWER = 2;
  private final FetchSessionCache cache = new FetchSessionCache(2, 1_000, new Random(7));

  private static PartitionFetch fetch(String topic, int partition, long offset) {
    return PartitionFetch.newBuilder().setTopic(topic).setPartition(partition).setFetchOffset(offset)
        .setPartitionMaxBytes(1 << 20).setCurrentLeaderEpoch(1).setLastFetchedEpoch(1).build();
  }

  private static PartitionData data(PartitionFetch pf, long highWatermark) {
    return PartitionData.newBuilder().setTopic(pf.getTopic()).setPartition(pf.getPartition())
        .setHighWatermark(highWatermark).setLogStartOffset(0).setLeaderEpoch(1).build();
  }

  /** The broker's answer to a whole request: every partition read, at high watermark {@code hw}. */
  private static FetchResponse served(FetchRequest whole, long hw) {
    FetchResponse.Builder answer = FetchResponse.newBuilder();
    whole.getPartitionsList().forEach(pf -> answer.addPartitions(data(pf, hw)));
    return answer.build();
  }

  private static FetchRequest.Builder base() {
    return FetchRequest.newBuilder().setReplicaId(FOLLOWER).setMaxWaitMs(500).setMinBytes(1);
  }

  private static List<String> names(FetchRequest request) {
    return request.getPartitionsList().stream().map(pf -> pf.getTopic() + "-" + pf.getPartition()).toList();
  }

  private static List<String> names(FetchResponse answer) {
    return answer.getPartitionsList().stream().map(d -> d.getTopic() + "-" + d.getPartition()).toList();
  }

  private static Map<TopicPartition, PartitionFetch> wanted(PartitionFetch... fetches) {
    Map<TopicPartition, PartitionFetch> wanted = new LinkedHashMap<>();
    for (PartitionFetch pf : fetches) {
      wanted.put(new TopicPartition(pf.getTopic(), pf.getPartition()), pf);
    }
    return wanted;
  }

  /** Opens a session for {@code follower}: its first fetch, of {@code fetches}, and the answer at high watermark 10. */
  private FetchSessionCache.InSession open(FetcherSession<TopicPartition> follower, PartitionFetch... fetches) {
    FetchSessionCache.InSession opened = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(follower.request(base(), wanted(fetches)), 0));
    follower.answered(opened.answer(served(opened.request(), 10)));
    return opened;
  }

  @Test
  void aFetchWithoutASessionEpochIsServedAsItCame() {
    FetchRequest plain = base().addPartitions(fetch("a", 0, 5)).build();
    FetchSessionCache.Resolution resolved = cache.resolve(plain, 0);
    assertEquals(plain, assertInstanceOf(FetchSessionCache.Sessionless.class, resolved).request());
    assertEquals(0, cache.size());
  }

  @Test
  void anIdleSessionNamesNothingAndIsAnsweredWithNothing() {
    FetcherSession<TopicPartition> follower = new FetcherSession<>();
    PartitionFetch a0 = fetch("a", 0, 10);
    PartitionFetch a1 = fetch("a", 1, 20);
    FetchRequest first = follower.request(base(), wanted(a0, a1));
    assertEquals(List.of("a-0", "a-1"), names(first));
    FetchSessionCache.InSession opened = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(first, 0));
    FetchResponse firstAnswer = opened.answer(served(opened.request(), 10));
    assertNotEquals(0, firstAnswer.getSessionId());
    assertEquals(List.of("a-0", "a-1"), names(firstAnswer), "a full fetch is answered in full");
    follower.answered(firstAnswer);
    assertTrue(follower.incremental());

    // Nothing moved: the fetch names no partition, yet the broker still reads both.
    FetchRequest second = follower.request(base(), wanted(a0, a1));
    assertEquals(List.of(), names(second));
    assertEquals(firstAnswer.getSessionId(), second.getSessionId());
    assertEquals(1, second.getSessionEpoch());
    FetchSessionCache.InSession carried = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(second, 10));
    assertEquals(List.of("a-0", "a-1"), names(carried.request()));
    assertEquals(List.of(a0, a1), carried.request().getPartitionsList(), "at the offsets the session holds");
    FetchResponse quiet = carried.answer(served(carried.request(), 10));
    assertEquals(List.of(), names(quiet), "nothing changed, nothing answered");
    follower.answered(quiet);
    // So the broker need not even read them while that holds.
    TopicPartition tp0 = new TopicPartition("a", 0);
    assertTrue(carried.session().answeredAlready(tp0, 10, 0, 1));
    assertTrue(!carried.session().answeredAlready(tp0, 11, 0, 1), "a new high watermark");
    assertTrue(!carried.session().answeredAlready(tp0, 10, 5, 1), "a new log start");
    assertTrue(!carried.session().answeredAlready(tp0, 10, 0, 2), "a new leader epoch");
    assertTrue(!carried.session().answeredAlready(new TopicPartition("b", 0), 10, 0, 1), "not in the session");

    // The high watermark of a-1 moves: a-1 alone is answered, though the fetch did not name it.
    FetchRequest third = follower.request(base(), wanted(a0, a1));
    FetchSessionCache.InSession moved = assertInstanceOf(FetchSessionCache.InSession.class, cache.resolve(third, 20));
    FetchResponse served = served(moved.request(), 10).toBuilder()
        .setPartitions(1, data(a1, 25)).build();
    assertEquals(List.of("a-1"), names(moved.answer(served)));
  }

  @Test
  void recordsErrorsAndDivergenceAreAlwaysAnswered() {
    PartitionFetch a0 = fetch("a", 0, 10);
    PartitionFetch a1 = fetch("a", 1, 20);
    PartitionFetch a2 = fetch("a", 2, 30);
    FetchSessionCache.InSession opened = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(base().setSessionEpoch(0).addPartitions(a0).addPartitions(a1).addPartitions(a2).build(), 0));
    int id = opened.answer(served(opened.request(), 10)).getSessionId();

    FetchSessionCache.InSession next = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(base().setSessionId(id).setSessionEpoch(1).build(), 1));
    FetchResponse served = FetchResponse.newBuilder()
        .addPartitions(data(a0, 10).toBuilder().setRecords(ByteString.copyFromUtf8("batch")))
        .addPartitions(data(a1, 10).toBuilder().setError(ErrorCode.NOT_LEADER_OR_FOLLOWER))
        .addPartitions(data(a2, 10).toBuilder().setDivergingEpoch(EpochEndOffset.newBuilder().setEpoch(0)
            .setEndOffset(25)))
        .build();
    assertEquals(List.of("a-0", "a-1", "a-2"), names(next.answer(served)));
  }

  @Test
  void changedFetchesAreNamedAndForgottenOnesLeaveTheSession() {
    FetcherSession<TopicPartition> follower = new FetcherSession<>();
    PartitionFetch a0 = fetch("a", 0, 10);
    PartitionFetch a1 = fetch("a", 1, 20);
    FetchSessionCache.InSession opened = open(follower, a0, a1);

    // a-0 got records and moved to 15; a-1 is dropped (it moved to another leader); b-0 is new.
    PartitionFetch a0moved = fetch("a", 0, 15);
    PartitionFetch b0 = fetch("b", 0, 0);
    FetchRequest next = follower.request(base(), wanted(a0moved, b0));
    assertEquals(List.of("a-0", "b-0"), names(next));
    assertTrue(opened.session().answeredAlready(new TopicPartition("a", 0), 10, 0, 1));
    assertEquals(List.of(PartitionRef.newBuilder().setTopic("a").setPartition(1).build()), next.getForgottenList());
    FetchSessionCache.InSession resolved = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(next, 1));
    assertEquals(List.of(a0moved, b0), resolved.request().getPartitionsList());
    assertTrue(!resolved.session().answeredAlready(new TopicPartition("a", 0), 10, 0, 1),
        "a partition the fetch names is answered whatever it holds");
    assertTrue(!resolved.request().hasSessionEpoch() && resolved.request().getForgottenCount() == 0,
        "the broker serves the whole request as a plain fetch");
  }

  @Test
  void aPartitionNamedAgainIsAnsweredThoughNothingChanged() {
    FetcherSession<TopicPartition> consumer = new FetcherSession<>();
    PartitionFetch a0 = fetch("a", 0, 10);
    PartitionFetch a1 = fetch("a", 1, 20);
    open(consumer, a0, a1);

    // The consumer dropped a-1 and took it back at the same offset before its next fetch: it forgot
    // a-1's high watermark, which the session already told it.
    consumer.nameAgain(new TopicPartition("a", 1));
    FetchRequest next = consumer.request(base(), wanted(a0, a1));
    assertEquals(List.of("a-1"), names(next));
    FetchSessionCache.InSession resolved = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(next, 1));
    FetchResponse answer = resolved.answer(served(resolved.request(), 10));
    assertEquals(List.of("a-1"), names(answer), "answered with the unchanged high watermark");
    consumer.answered(answer);

    assertEquals(List.of(), names(consumer.request(base(), wanted(a0, a1))), "named once, not on every fetch");
  }

  @Test
  void aWrongEpochOrAnUnknownSessionIsRefusedAndTheFollowerStartsOver() {
    FetcherSession<TopicPartition> follower = new FetcherSession<>();
    PartitionFetch a0 = fetch("a", 0, 10);
    int id = open(follower, a0).session().id;

    FetchSessionCache.Refused stale = assertInstanceOf(FetchSessionCache.Refused.class,
        cache.resolve(base().setSessionId(id).setSessionEpoch(2).build(), 1));
    assertEquals(ErrorCode.INVALID_FETCH_SESSION_EPOCH, stale.error());
    FetchSessionCache.Refused unknown = assertInstanceOf(FetchSessionCache.Refused.class,
        cache.resolve(base().setSessionId(id + 1).setSessionEpoch(1).build(), 1));
    assertEquals(ErrorCode.FETCH_SESSION_ID_NOT_FOUND, unknown.error());
    FetchSessionCache.Refused someoneElses = assertInstanceOf(FetchSessionCache.Refused.class,
        cache.resolve(base().setReplicaId(FOLLOWER + 1).setSessionId(id).setSessionEpoch(1).build(), 1));
    assertEquals(ErrorCode.FETCH_SESSION_ID_NOT_FOUND, someoneElses.error(), "a session is its fetcher's alone");
    // Nor can another fetcher close it.
    cache.resolve(base().setReplicaId(FOLLOWER + 1).setSessionId(id).setSessionEpoch(-1).build(), 1);
    assertEquals(ErrorCode.INVALID_FETCH_SESSION_EPOCH, assertInstanceOf(FetchSessionCache.Refused.class,
        cache.resolve(base().setSessionId(id).setSessionEpoch(2).build(), 1)).error(), "still there, expecting epoch 1");

    follower.answered(stale.answer());
    assertTrue(!follower.incremental());
    FetchRequest again = follower.request(base(), wanted(a0));
    assertEquals(0, again.getSessionEpoch());
    assertEquals(id, again.getSessionId(), "the full fetch closes the old session");
    assertEquals(List.of("a-0"), names(again));
    FetchSessionCache.InSession reopened = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(again, 2));
    assertNotEquals(id, reopened.session().id);
    assertEquals(1, cache.size());
  }

  @Test
  void aFailedFetchStartsOverWithAFullOne() {
    FetcherSession<TopicPartition> follower = new FetcherSession<>();
    PartitionFetch a0 = fetch("a", 0, 10);
    open(follower, a0);
    follower.request(base(), wanted(a0));
    // The answer was lost: the broker may have counted its high watermark as told.
    follower.failed();
    FetchRequest again = follower.request(base(), wanted(a0));
    assertEquals(0, again.getSessionEpoch());
    assertEquals(List.of("a-0"), names(again));
  }

  @Test
  void aFullCacheEvictsOnlyASessionLeftUnusedLongEnough() {
    PartitionFetch a0 = fetch("a", 0, 10);
    FetchRequest open = base().setSessionEpoch(0).addPartitions(a0).build();
    FetchRequest openAs3 = open.toBuilder().setReplicaId(3).build();
    FetchRequest openAs4 = open.toBuilder().setReplicaId(4).build();
    int first = assertInstanceOf(FetchSessionCache.InSession.class, cache.resolve(open, 0)).session().id;
    int second = assertInstanceOf(FetchSessionCache.InSession.class, cache.resolve(openAs3, 100)).session().id;
    // Full, and neither session has gone unused for 1 s: no session, a plain full fetch.
    FetchSessionCache.Sessionless none = assertInstanceOf(FetchSessionCache.Sessionless.class,
        cache.resolve(openAs4, 500));
    assertEquals(List.of(a0), none.request().getPartitionsList());
    assertEquals(2, cache.size());
    // The second is used at 900; at 1,050 the first has been idle long enough and gives way.
    assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(base().setReplicaId(3).setSessionId(second).setSessionEpoch(1).build(), 900));
    int third = assertInstanceOf(FetchSessionCache.InSession.class, cache.resolve(openAs4, 1_050)).session().id;
    assertEquals(FetchSessionCache.Refused.class,
        cache.resolve(base().setSessionId(first).setSessionEpoch(1).build(), 1_060).getClass());
    assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(base().setReplicaId(3).setSessionId(second).setSessionEpoch(2).build(), 1_070));
    assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(base().setReplicaId(4).setSessionId(third).setSessionEpoch(1).build(), 1_080));
  }

  @Test
  void aBrokersNewSessionReplacesItsOldOne() {
    PartitionFetch a0 = fetch("a", 0, 10);
    FetchRequest open = base().setSessionEpoch(0).addPartitions(a0).build();
    int old = assertInstanceOf(FetchSessionCache.InSession.class, cache.resolve(open, 0)).session().id;
    // The follower restarted: it knows nothing of its old session and opens another.
    int renewed = assertInstanceOf(FetchSessionCache.InSession.class, cache.resolve(open, 10)).session().id;
    assertEquals(1, cache.size());
    assertEquals(ErrorCode.FETCH_SESSION_ID_NOT_FOUND, assertInstanceOf(FetchSessionCache.Refused.class,
        cache.resolve(base().setSessionId(old).setSessionEpoch(1).build(), 20)).error());
    assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(base().setSessionId(renewed).setSessionEpoch(1).build(), 30));
    // Consumers (replica id -1) may hold several sessions at once.
    FetchRequest consumer = open.toBuilder().setReplicaId(-1).build();
    assertInstanceOf(FetchSessionCache.InSession.class, cache.resolve(consumer, 40));
    assertEquals(2, cache.size());
  }

  @Test
  void withoutSlotsEveryFetchIsFull() {
    FetchSessionCache none = new FetchSessionCache(0, 1_000, new Random(1));
    FetcherSession<TopicPartition> follower = new FetcherSession<>();
    PartitionFetch a0 = fetch("a", 0, 10);
    for (int i = 0; i < 2; i++) {
      FetchRequest request = follower.request(base(), wanted(a0));
      assertEquals(0, request.getSessionEpoch());
      assertEquals(List.of("a-0"), names(request));
      FetchSessionCache.Sessionless plain = assertInstanceOf(FetchSessionCache.Sessionless.class,
          none.resolve(request, i));
      // The broker answers a fetch outside any session with session id 0: none was opened.
      follower.answered(served(plain.request(), 10));
      assertTrue(!follower.incremental());
    }
    assertEquals(0, none.size());
  }

  @Test
  void aFetcherThatStopsClosesItsSession() {
    FetcherSession<TopicPartition> follower = new FetcherSession<>();
    assertEquals(null, follower.closing(base()), "nothing to close before a session opens");
    open(follower, fetch("a", 0, 10));
    assertEquals(1, cache.size());
    FetchRequest bye = follower.closing(base());
    assertEquals(-1, bye.getSessionEpoch());
    assertEquals(0, bye.getPartitionsCount());
    assertInstanceOf(FetchSessionCache.Sessionless.class, cache.resolve(bye, 1));
    assertEquals(0, cache.size());
    assertEquals(null, follower.closing(base()), "closed once");
    assertEquals(0, follower.request(base(), wanted(fetch("a", 0, 10))).getSessionEpoch(), "a new start is full");
  }

  @Test
  void closingEndsTheSession() {
    PartitionFetch a0 = fetch("a", 0, 10);
    int id = assertInstanceOf(FetchSessionCache.InSession.class,
        cache.resolve(base().setSessionEpoch(0).addPartitions(a0).build(), 0)).session().id;
    FetchSessionCache.Sessionless closing = assertInstanceOf(FetchSessionCache.Sessionless.class,
        cache.resolve(base().setSessionId(id).setSessionEpoch(-1).addPartitions(a0).build(), 1));
    assertEquals(List.of(a0), closing.request().getPartitionsList());
    assertEquals(0, cache.size());
  }

  @Test
  void epochsWrapToTheFirstIncrementalOne() {
    assertEquals(2, FetcherSession.nextEpoch(1));
    assertEquals(FetcherSession.FIRST_INCREMENTAL_EPOCH, FetcherSession.nextEpoch(Integer.MAX_VALUE));
    assertEquals(ErrorCode.INVALID_FETCH_SESSION_EPOCH, assertInstanceOf(FetchSessionCache.Refused.class,
        cache.resolve(base().setSessionId(9).setSessionEpoch(-2).build(), 0)).error());
    assertThrows(IllegalArgumentException.class, () -> new FetchSessionCache(-1, 0, new Random(1)));
  }
}
