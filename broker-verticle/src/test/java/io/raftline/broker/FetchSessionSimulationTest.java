package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.raftline.metadata.TopicPartition;
import io.raftline.protocol.FetcherSession;
import io.raftline.protocol.ErrorCode;
import io.raftline.protocol.client.FetchRequest;
import io.raftline.protocol.client.FetchResponse;
import io.raftline.protocol.client.PartitionData;
import io.raftline.protocol.client.PartitionFetch;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A seeded simulation of one fetcher and one leader talking in fetch sessions, with partitions
 * joining and leaving the fetch, offsets and high watermarks moving, and requests and answers lost
 * on the way. After every exchange that arrives, the fetcher must know what a full fetch would have
 * told it: each partition's latest high watermark and log start, and every record the leader served.
 * And the leader must always read exactly the partitions, at exactly the offsets, the fetcher wants.
 */
class FetchSessionSimulationTest {
  private static final int PARTITIONS = 8;
  private static final int STEPS = 400;

  /** What the leader says about a partition at one moment. */
  private record Said(long highWatermark, long logStartOffset) {}

  @Test
  void aSessionNeverHidesAnUpdateFromItsFetcher() {
    for (int seed = 1; seed <= 60; seed++) {
      simulate(seed);
    }
  }

  private static void simulate(int seed) {
    Random random = new Random(seed);
    FetchSessionCache leader = new FetchSessionCache(random.nextBoolean() ? 4 : 1, 1_000, new Random(seed));
    FetcherSession<TopicPartition> fetcher = new FetcherSession<>();
    Map<TopicPartition, Said> truth = new HashMap<>();
    Map<TopicPartition, Long> offsets = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      truth.put(new TopicPartition("t", p), new Said(0, 0));
      offsets.put(new TopicPartition("t", p), 0L);
    }
    Map<TopicPartition, Boolean> fetched = new TreeMap<>((a, b) -> Integer.compare(a.partition(), b.partition()));
    for (int p = 0; p < PARTITIONS; p++) {
      fetched.put(new TopicPartition("t", p), random.nextBoolean());
    }
    Map<TopicPartition, Said> known = new HashMap<>();
    long now = 0;
    for (int step = 0; step < STEPS; step++) {
      String where = "seed " + seed + " step " + step;
      now += random.nextInt(50);
      // The world moves: high watermarks and log starts change; the fetcher follows or drops partitions.
      for (TopicPartition tp : truth.keySet()) {
        if (random.nextInt(4) == 0) {
          Said s = truth.get(tp);
          truth.put(tp, new Said(s.highWatermark() + random.nextInt(3),
              s.logStartOffset() + (random.nextInt(10) == 0 ? 1 : 0)));
        }
        if (random.nextInt(20) == 0) {
          fetched.put(tp, !fetched.get(tp));
        }
      }
      Map<TopicPartition, PartitionFetch> wanted = new LinkedHashMap<>();
      fetched.forEach((tp, on) -> {
        if (on) {
          wanted.put(tp, PartitionFetch.newBuilder().setTopic(tp.topic()).setPartition(tp.partition())
              .setFetchOffset(offsets.get(tp)).setPartitionMaxBytes(1 << 20).build());
        }
      });
      if (wanted.isEmpty()) {
        continue;
      }
      FetchRequest request = fetcher.request(FetchRequest.newBuilder().setReplicaId(2).setMaxWaitMs(500), wanted);
      if (random.nextInt(10) == 0) {
        fetcher.failed(); // the request never arrived
        continue;
      }
      FetchSessionCache.Resolution resolved = leader.resolve(request, now);
      FetchResponse answer;
      if (resolved instanceof FetchSessionCache.Refused refused) {
        answer = refused.answer();
      } else {
        FetchRequest whole = resolved instanceof FetchSessionCache.InSession in ? in.request()
            : ((FetchSessionCache.Sessionless) resolved).request();
        Map<TopicPartition, PartitionFetch> read = new LinkedHashMap<>();
        whole.getPartitionsList().forEach(pf -> read.put(new TopicPartition(pf.getTopic(), pf.getPartition()), pf));
        assertEquals(wanted, read, where + ": the leader reads what the fetcher wants");
        FetchSessionCache.Session session = resolved instanceof FetchSessionCache.InSession in ? in.session() : null;
        FetchResponse.Builder served = FetchResponse.newBuilder();
        for (PartitionFetch pf : whole.getPartitionsList()) {
          TopicPartition tp = new TopicPartition(pf.getTopic(), pf.getPartition());
          Said s = truth.get(tp);
          boolean records = random.nextInt(3) == 0;
          // As the broker does: a partition with nothing to read whose last answer holds is not read.
          if (!records && session != null && session.answeredAlready(tp, s.highWatermark(), s.logStartOffset(), 1)) {
            continue;
          }
          PartitionData.Builder data = PartitionData.newBuilder().setTopic(tp.topic()).setPartition(tp.partition())
              .setHighWatermark(s.highWatermark()).setLogStartOffset(s.logStartOffset()).setLeaderEpoch(1);
          if (records) {
            data.setRecords(ByteString.copyFromUtf8("batch@" + pf.getFetchOffset()));
          }
          served.addPartitions(data);
        }
        answer = resolved instanceof FetchSessionCache.InSession in ? in.answer(served.build()) : served.build();
        for (PartitionData d : served.getPartitionsList()) {
          if (!d.getRecords().isEmpty()) {
            assertEquals(true, answer.getPartitionsList().contains(d), where + ": records served are answered");
          }
        }
      }
      if (random.nextInt(10) == 0) {
        fetcher.failed(); // the answer was lost on the way back
        continue;
      }
      fetcher.answered(answer);
      if (answer.getError() != ErrorCode.NONE) {
        continue; // a refused session: the next fetch is full
      }
      for (PartitionData d : answer.getPartitionsList()) {
        TopicPartition tp = new TopicPartition(d.getTopic(), d.getPartition());
        known.put(tp, new Said(d.getHighWatermark(), d.getLogStartOffset()));
        if (!d.getRecords().isEmpty()) {
          offsets.put(tp, offsets.get(tp) + 1 + random.nextInt(5)); // appended: the next fetch starts later
        }
      }
      for (TopicPartition tp : wanted.keySet()) {
        assertEquals(truth.get(tp), known.get(tp), where + ": what the fetcher knows of " + tp);
      }
    }
  }
}
