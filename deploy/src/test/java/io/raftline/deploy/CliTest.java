package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client commands of the CLI against a node in this JVM: output, exit codes, error lines. */
class CliTest {
  @TempDir static Path dir;
  private static Vertx vertx;
  private static RaftlineNode node;
  private static String bootstrap;

  record Result(int exit, String out, String err) {
    List<String> lines() {
      return out.isEmpty() ? List.of() : List.of(out.split("\n"));
    }
  }

  @BeforeAll
  static void startNode() throws Exception {
    NodeConfig config = NodeConfig.from(TestNodes.combined(dir, 0, 0));
    Storage.format(config, Storage.randomClusterId(), false);
    vertx = Vertx.vertx();
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    bootstrap = "127.0.0.1:" + node.brokerPort();
  }

  @AfterAll
  static void stopNode() throws Exception {
    Await.await(node.stop());
    Await.await(vertx.close());
  }

  static Result cli(String stdin, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = RaftlineCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true),
        new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
    return new Result(exit, out.toString().replace("\r", ""), err.toString().replace("\r", ""));
  }

  private static void assertFailsWithOneLine(Result r, String mention) {
    assertEquals(1, r.exit(), r.toString());
    String[] lines = r.err().strip().split("\n");
    assertEquals(1, lines.length, "one line on stderr: " + r.err());
    assertTrue(lines[0].startsWith("error: ") && lines[0].contains(mention), lines[0]);
  }

  @Test
  void thousandLinesComeBackInOrder() {
    assertEquals(0, cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "lines").exit());
    String input = IntStream.rangeClosed(1, 1000).mapToObj(i -> "line " + i).collect(Collectors.joining("\n")) + "\n";
    Result produced = cli(input, "produce", "--bootstrap-server", bootstrap, "--topic", "lines");
    assertEquals(0, produced.exit(), produced.err());
    Result consumed = cli("", "consume", "--bootstrap-server", bootstrap, "--topic", "lines", "--from-beginning",
        "--max-messages", "1000");
    assertEquals(0, consumed.exit(), consumed.err());
    assertEquals(IntStream.rangeClosed(1, 1000).mapToObj(i -> "line " + i).toList(), consumed.lines());
    assertTrue(consumed.err().contains("Processed a total of 1000 messages"), consumed.err());
  }

  @Test
  void consumeWithAGroupResumesFromWhatItCommitted() {
    assertEquals(0, cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "grouped").exit());
    String input = IntStream.rangeClosed(1, 10).mapToObj(i -> "g " + i).collect(Collectors.joining("\n")) + "\n";
    assertEquals(0, cli(input, "produce", "--bootstrap-server", bootstrap, "--topic", "grouped").exit());
    Result first = cli("", "consume", "--bootstrap-server", bootstrap, "--topic", "grouped", "--group", "cli-group",
        "--from-beginning", "--max-messages", "6");
    assertEquals(0, first.exit(), first.err());
    assertEquals(IntStream.rangeClosed(1, 6).mapToObj(i -> "g " + i).toList(), first.lines());
    // The second member starts at the group's commit (6), not at the beginning nor at the end.
    Result second = cli("", "consume", "--bootstrap-server", bootstrap, "--topic", "grouped", "--group", "cli-group",
        "--from-beginning", "--max-messages", "4");
    assertEquals(0, second.exit(), second.err());
    assertEquals(IntStream.rangeClosed(7, 10).mapToObj(i -> "g " + i).toList(), second.lines());
    Result described = cli("", "groups", "describe", "--bootstrap-server", bootstrap, "--group", "cli-group");
    assertEquals(0, described.exit(), described.err());
    assertTrue(described.out().contains("grouped") && described.out().contains("10"), described.out());
  }

  @Test
  void keyedLinesAndDescribe() {
    assertEquals(0, cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "keyed", "--partitions",
        "3").exit());
    Result produced = cli("a:1\nb:2\na:3\n", "produce", "--bootstrap-server", bootstrap, "--topic", "keyed",
        "--property", "parse.key=true", "--property", "key.separator=:");
    assertEquals(0, produced.exit(), produced.err());
    Result consumed = cli("", "consume", "--bootstrap-server", bootstrap, "--topic", "keyed", "--from-beginning",
        "--max-messages", "3", "--property", "print.key=true", "--property", "key.separator=:");
    assertEquals(0, consumed.exit(), consumed.err());
    List<String> lines = consumed.lines();
    assertEquals(3, lines.size());
    assertTrue(lines.containsAll(List.of("a:1", "b:2", "a:3")), lines.toString());
    assertTrue(lines.indexOf("a:1") < lines.indexOf("a:3"), "one key keeps its order: " + lines);

    Result described = cli("", "topics", "describe", "--bootstrap-server", bootstrap, "--topic", "keyed");
    assertEquals(0, described.exit());
    assertTrue(described.out().contains("PartitionCount: 3"), described.out());
    assertEquals(4, described.lines().size(), described.out());
    assertTrue(described.out().contains("Partition: 2\tLeader: 1\tReplicas: 1\tIsr: 1"), described.out());
    assertTrue(cli("", "topics", "list", "--bootstrap-server", bootstrap).lines().contains("keyed"));
  }

  @Test
  void consumeWithTimeoutEndsOnAnEmptyTopic() {
    assertEquals(0, cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "quiet").exit());
    Result r = cli("", "consume", "--bootstrap-server", bootstrap, "--topic", "quiet", "--timeout-ms", "300");
    assertEquals(0, r.exit(), r.err());
    assertEquals("", r.out());
    assertTrue(r.err().contains("Processed a total of 0 messages"));
  }

  @Test
  void badInputIsOneLineAndExitOne() {
    assertFailsWithOneLine(cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "bad/name"),
        "INVALID_TOPIC_EXCEPTION");
    assertFailsWithOneLine(cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "p0",
        "--partitions", "0"), "--partitions");
    assertFailsWithOneLine(cli("x\n", "produce", "--bootstrap-server", bootstrap, "--topic", "nope"),
        "UNKNOWN_TOPIC_OR_PARTITION");
    assertFailsWithOneLine(cli("", "consume", "--bootstrap-server", bootstrap, "--topic", "nope", "--timeout-ms", "100"),
        "UNKNOWN_TOPIC_OR_PARTITION");
    assertFailsWithOneLine(cli("", "topics", "delete", "--bootstrap-server", bootstrap, "--topic", "nope"),
        "UNKNOWN_TOPIC_OR_PARTITION");
    assertFailsWithOneLine(cli("", "topics", "create", "--bootstrap-server", "nohostport", "--topic", "t"),
        "bootstrap.servers");
    assertFailsWithOneLine(cli("", "topics", "create", "--topic", "t"), "--bootstrap-server");
    assertFailsWithOneLine(cli("", "produce", "--bootstrap-server", bootstrap, "--topic", "t", "--property", "x=y"),
        "unknown --property");
    assertFailsWithOneLine(cli("", "node", "--config", dir.resolve("missing.properties").toString()), "does not exist");
    assertFailsWithOneLine(cli("", "node", "--override", "node.id=-3", "--override", "log.dirs=" + dir.resolve("x")),
        "node.id");
    assertFailsWithOneLine(cli("", "node", "--override", "colour=blue"), "colour");
    assertFailsWithOneLine(cli("", "storage", "format", "--config", dir.resolve("missing.properties").toString(),
        "--cluster-id", Storage.randomClusterId()), "missing.properties");
  }

  @Test
  void everyCommandAnswersHelp() {
    for (List<String> command : List.<List<String>>of(List.of(), List.of("perf", "restart"), List.of("topics", "create"),
        List.of("storage", "format"), List.of("dump-log"), List.of("groups", "describe"), List.of("soak"))) {
      List<String> args = new java.util.ArrayList<>(command);
      args.add("--help");
      Result r = cli("", args.toArray(new String[0]));
      assertEquals(0, r.exit(), args + ": " + r.err());
      assertTrue(r.out().startsWith("Usage: raftline" + (command.isEmpty() ? "" : " " + String.join(" ", command))),
          args + ": " + r.out());
    }
  }

  @Test
  void randomUuidIsAClusterId() {
    Result r = cli("", "storage", "random-uuid");
    assertEquals(0, r.exit());
    Storage.checkClusterId(r.out().strip());
  }

  @Test
  void topicsCreateWithAReplicaAssignment() {
    Result created = cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "placed",
        "--replica-assignment", "1,1,1");
    assertEquals(0, created.exit(), created.err());
    Result described = cli("", "topics", "describe", "--bootstrap-server", bootstrap, "--topic", "placed");
    assertEquals(0, described.exit(), described.err());
    assertTrue(described.out().contains("PartitionCount: 3\tReplicationFactor: 1"), described.out());
    assertTrue(described.out().contains("Partition: 2\tLeader: 1\tReplicas: 1\tIsr: 1"), described.out());
    assertEquals(0, cli("a\nb\n", "produce", "--bootstrap-server", bootstrap, "--topic", "placed").exit());

    // Broker 2 is not registered: the controller refuses, and the topic does not appear.
    assertFailsWithOneLine(cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "stranger",
        "--replica-assignment", "1:2"), "INVALID_REPLICA_ASSIGNMENT");
    assertFailsWithOneLine(cli("", "topics", "describe", "--bootstrap-server", bootstrap, "--topic", "stranger"),
        "UNKNOWN_TOPIC_OR_PARTITION");
    assertFailsWithOneLine(cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "both",
        "--replica-assignment", "1", "--partitions", "2"), "--replica-assignment");
    assertFailsWithOneLine(cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "typo",
        "--replica-assignment", "1,x"), "--replica-assignment");
  }

  @Test
  void perfCreateTopicsTimesTheAnswerAndTheLeaders() {
    Result r = cli("", "perf", "create-topics", "--bootstrap-server", bootstrap, "--topics", "3", "--partitions", "4",
        "--rounds", "2");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.lines().get(0).matches("round 1: 3 topic\\(s\\) x 4 partitions, RF 1: answer \\d+ ms, all leaders \\d+ ms "
        + "\\(\\d+ describe\\(s\\)\\)"), r.out());
    assertTrue(r.lines().get(2).startsWith("create 3 topic(s) x 4 partitions, RF 1, 2 round(s): answer median"), r.out());
    Result left = cli("", "topics", "list", "--bootstrap-server", bootstrap);
    assertTrue(left.lines().stream().noneMatch(l -> l.startsWith("perf-create-")), "rounds delete their topics: " + left.out());
  }

  @Test
  void configsDescribeAndAlter() {
    assertEquals(0, cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "conf").exit());
    Result altered = cli("", "configs", "alter", "--bootstrap-server", bootstrap, "--entity-type", "topics",
        "--entity-name", "conf", "--add-config", "cleanup.policy=compact,retention.ms=1000");
    assertEquals(0, altered.exit(), altered.err());
    Result described = cli("", "configs", "describe", "--bootstrap-server", bootstrap, "--entity-type", "topics",
        "--entity-name", "conf");
    assertEquals(0, described.exit(), described.err());
    assertTrue(described.out().contains("cleanup.policy=compact (DYNAMIC_TOPIC_CONFIG)"), described.out());
    assertTrue(described.out().contains("min.insync.replicas=1 (DEFAULT_CONFIG)"), described.out());
    assertEquals(0, cli("", "configs", "alter", "--bootstrap-server", bootstrap, "--entity-type", "topics",
        "--entity-name", "conf", "--delete-config", "retention.ms").exit());
    assertTrue(cli("", "configs", "describe", "--bootstrap-server", bootstrap, "--entity-type", "topics",
        "--entity-name", "conf").out().contains("retention.ms=604800000 (DEFAULT_CONFIG)"));
    assertFailsWithOneLine(cli("", "configs", "alter", "--bootstrap-server", bootstrap, "--entity-type", "topics",
        "--entity-name", "conf", "--add-config", "cleanup.policy=shred"), "INVALID_CONFIG");
    assertFailsWithOneLine(cli("", "configs", "describe", "--bootstrap-server", bootstrap, "--entity-type", "groups",
        "--entity-name", "g"), "--entity-type");
    Result defaults = cli("", "configs", "alter", "--bootstrap-server", bootstrap, "--entity-type", "brokers",
        "--entity-default", "--add-config", "log.retention.ms=5000");
    assertEquals(0, defaults.exit(), defaults.err());
    assertTrue(cli("", "configs", "describe", "--bootstrap-server", bootstrap, "--entity-type", "brokers",
        "--entity-default").out().contains("log.retention.ms=5000"));
  }

  @Test
  void perfProduceAndConsumePrintKafkaStyleSummaries() {
    assertEquals(0, cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "perf", "--partitions",
        "3").exit());
    Result produced = cli("", "perf", "produce", "--bootstrap-server", bootstrap, "--topic", "perf", "--num-records",
        "2000", "--record-size", "100", "--throughput", "-1", "--acks", "all");
    assertEquals(0, produced.exit(), produced.err());
    String summary = produced.lines().get(produced.lines().size() - 1);
    assertTrue(summary.matches("2000 records sent, [\\d.]+ records/sec \\([\\d.]+ MB/sec\\), [\\d.]+ ms avg latency, "
        + "[\\d.]+ ms max latency, \\d+ ms 50th, \\d+ ms 95th, \\d+ ms 99th, \\d+ ms 99\\.9th\\."), summary);
    Result consumed = cli("", "perf", "consume", "--bootstrap-server", bootstrap, "--topic", "perf", "--messages",
        "2000");
    assertEquals(0, consumed.exit(), consumed.err());
    assertTrue(consumed.lines().get(0).startsWith("start.time, end.time, data.consumed.in.MB"), consumed.out());
    assertTrue(consumed.lines().get(1).contains(", 2000, "), consumed.out());
  }
}
