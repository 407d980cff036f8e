package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code raftline dump-log --files}: partition segments, indexes, metadata log segments; files only read. */
class DumpLogTest {
  @TempDir static Path dir;
  private static Vertx vertx;
  private static RaftlineNode node;
  private static Path partitionDir;

  @BeforeAll
  static void produceIntoANode() throws Exception {
    NodeConfig config = NodeConfig.from(TestNodes.combined(dir, 0, 0));
    Storage.format(config, Storage.randomClusterId(), false);
    vertx = Vertx.vertx();
    node = Await.await(RaftlineNode.start(vertx, config, Storage.check(config)));
    String bootstrap = "127.0.0.1:" + node.brokerPort();
    assertEquals(0, CliTest.cli("", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "dumped").exit());
    String input = IntStream.range(0, 5).mapToObj(i -> "k" + i + ":value-" + i).collect(Collectors.joining("\n")) + "\n";
    CliTest.Result produced = CliTest.cli(input, "produce", "--bootstrap-server", bootstrap, "--topic", "dumped",
        "--property", "parse.key=true", "--property", "key.separator=:");
    assertEquals(0, produced.exit(), produced.err());
    partitionDir = config.logDirs().get(0).resolve("dumped-0");
  }

  @AfterAll
  static void stopNode() throws Exception {
    Await.await(node.stop());
    Await.await(vertx.close());
  }

  private static Path segment() {
    return partitionDir.resolve("00000000000000000000.log");
  }

  @Test
  void partitionSegmentShowsBatchesAndRecords() throws Exception {
    CliTest.Result r = CliTest.cli("", "dump-log", "--files", segment().toString(), "--print-data-log");
    assertEquals(0, r.exit(), r.err());
    List<String> batches = r.lines().stream().filter(l -> l.startsWith("baseOffset: ")).toList();
    assertTrue(!batches.isEmpty() && batches.stream().allMatch(l -> l.contains("isvalid: true")), r.out());
    assertTrue(batches.get(0).startsWith("baseOffset: 0 "), batches.get(0));
    List<String> records = r.lines().stream().filter(l -> l.startsWith("| offset: ")).toList();
    assertEquals(5, records.size(), r.out());
    for (int i = 0; i < 5; i++) {
      assertTrue(records.get(i).startsWith("| offset: " + i + " ") && records.get(i).contains("key: k" + i)
          && records.get(i).endsWith("payload: value-" + i), records.get(i));
    }
  }

  @Test
  void damagedCopiesAreReportedAndNotChanged() throws Exception {
    Path copies = Files.createDirectories(dir.resolve("copies"));
    Path torn = Files.copy(segment(), copies.resolve("00000000000000000000.log"));
    Files.write(torn, new byte[] {0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 77}, StandardOpenOption.APPEND);
    byte[] before = Files.readAllBytes(torn);
    CliTest.Result r = CliTest.cli("", "dump-log", "--files", torn.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("Found 12 invalid bytes at the end"), r.out());
    assertArrayEquals(before, Files.readAllBytes(torn), "a dump never changes the file");

    Path flipped = Files.createDirectories(dir.resolve("flipped")).resolve("00000000000000000000.log");
    byte[] bytes = Files.readAllBytes(segment());
    bytes[bytes.length - 1] ^= 0x5a; // inside the last batch's records: its CRC no longer matches
    Files.write(flipped, bytes);
    CliTest.Result bad = CliTest.cli("", "dump-log", "--files", flipped.toString());
    assertEquals(0, bad.exit(), bad.err());
    assertTrue(bad.out().contains("isvalid: false (record batch CRC mismatch"), bad.out());
  }

  @Test
  void indexesAndMetadataLogSegment() throws Exception {
    Path metadataSegment = node.config().metadataLogDir().resolve("__cluster_metadata-0")
        .resolve("00000000000000000000.log");
    long sizeBefore = Files.size(metadataSegment);
    CliTest.Result r = CliTest.cli("", "dump-log", "--files", metadataSegment + ","
        + partitionDir.resolve("00000000000000000000.index") + "," + partitionDir.resolve("00000000000000000000.timeindex"));
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("Dumping " + metadataSegment), r.out());
    assertTrue(r.lines().stream().anyMatch(l -> l.startsWith("offset: ") && l.contains("dumped")),
        "the topic's record is in the metadata log: " + r.out());
    assertTrue(r.out().contains("Dumping " + partitionDir.resolve("00000000000000000000.timeindex")), r.out());
    assertTrue(Files.size(metadataSegment) >= sizeBefore);
  }

  @Test
  void unknownFileIsAnError() throws Exception {
    Path other = Files.writeString(dir.resolve("notes.txt"), "hello");
    CliTest.Result r = CliTest.cli("", "dump-log", "--files", other.toString());
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("not a segment"), r.err());
  }
}
