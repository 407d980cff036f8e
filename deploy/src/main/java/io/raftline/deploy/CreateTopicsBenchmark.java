package io.raftline.deploy;

import io.raftline.client.RaftlineClient;
import io.raftline.protocol.ErrorCode;
import io.raftline.client.TopicInfo;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Topic creation as an administrator sees it, for TARGETS.md's "create 1 topic × 1,000 partitions" and
 * "create 100 topics × 10 partitions": one CreateTopics request for all topics, timed to its answer
 * (which comes once the records have committed and the serving broker's image holds them), then to
 * the first describe in which every partition has a leader. Each round uses new names and deletes its
 * topics afterwards (not timed), so rounds do not grow the image.
 */
final class CreateTopicsBenchmark {
  private static final long TIMEOUT_MS = 60_000;

  private CreateTopicsBenchmark() {}

  static void run(RaftlineClient client, int topics, int partitions, int replicationFactor, int rounds,
      PrintWriter out) throws Exception {
    long[] answerMs = new long[rounds];
    long[] leadersMs = new long[rounds];
    String prefix = "perf-create-" + Long.toString(System.currentTimeMillis(), 36);
    for (int round = 0; round < rounds; round++) {
      List<String> names = new ArrayList<>(topics);
      for (int t = 0; t < topics; t++) {
        names.add(prefix + "-" + round + "-" + t);
      }
      long start = System.nanoTime();
      RaftlineCli.await(client.admin().createTopics(names, partitions, replicationFactor), TIMEOUT_MS);
      long answered = System.nanoTime();
      int describes = 0;
      while (true) {
        describes++;
        List<TopicInfo> described = RaftlineCli.await(client.admin().describeTopics(names), TIMEOUT_MS);
        if (allLed(described, partitions)) {
          break;
        }
        if ((System.nanoTime() - start) / 1_000_000 > TIMEOUT_MS) {
          throw new IllegalStateException("not every partition had a leader within " + TIMEOUT_MS + " ms");
        }
        Thread.sleep(5);
      }
      long led = System.nanoTime();
      answerMs[round] = (answered - start) / 1_000_000;
      leadersMs[round] = (led - start) / 1_000_000;
      out.printf("round %d: %d topic(s) x %d partitions, RF %d: answer %d ms, all leaders %d ms (%d describe(s))%n",
          round + 1, topics, partitions, replicationFactor, answerMs[round], leadersMs[round], describes);
      out.flush();
      // Not timed; a delete that fails (a retry after a lost answer finds the topic gone) only warns.
      try {
        RaftlineCli.await(client.admin().deleteTopics(names), TIMEOUT_MS).stream()
            .filter(r -> r.getError() != ErrorCode.NONE && r.getError() != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            .findFirst().ifPresent(r -> out.println("warning: deleting " + r.getName() + ": " + r.getErrorMessage()));
      } catch (Exception e) {
        out.println("warning: deleting the round's topics: " + e.getMessage());
      }
    }
    long[] a = answerMs.clone();
    long[] l = leadersMs.clone();
    Arrays.sort(a);
    Arrays.sort(l);
    out.printf("create %d topic(s) x %d partitions, RF %d, %d round(s): answer median %d ms (min %d, max %d); "
            + "all leaders median %d ms (min %d, max %d)%n", topics, partitions, replicationFactor, rounds,
        a[rounds / 2], a[0], a[rounds - 1], l[rounds / 2], l[0], l[rounds - 1]);
    out.flush();
  }

  private static boolean allLed(List<TopicInfo> described, int partitions) {
    for (TopicInfo t : described) {
      if (t.partitions().size() != partitions) {
        return false;
      }
      for (TopicInfo.PartitionInfo p : t.partitions()) {
        if (p.leader() < 0) {
          return false;
        }
      }
    }
    return true;
  }
}
