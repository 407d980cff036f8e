package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StorageTest {
  private static final String CLUSTER = "MkU3OEVBNTcwNTJENDM2Qg";

  @TempDir
  Path tmp;

  private NodeConfig config(int nodeId, String logDirs, String metadataLogDir) {
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", Integer.toString(nodeId));
    p.setProperty("controller.quorum.voters", nodeId + "@127.0.0.1:9093");
    p.setProperty("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
    p.setProperty("log.dirs", logDirs);
    if (metadataLogDir != null) {
      p.setProperty("metadata.log.dir", metadataLogDir);
    }
    return NodeConfig.from(p);
  }

  /** Node 1 with two log dirs and a separate metadata dir, none of them created yet. */
  private NodeConfig threeDirs() {
    return config(1, tmp.resolve("a") + "," + tmp.resolve("b"), tmp.resolve("meta").toString());
  }

  private static Properties meta(Path dir) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(dir.resolve(Storage.META_PROPERTIES))) {
      p.load(in);
    }
    return p;
  }

  @Test
  void formatCommandShowsEachDirectoryAsItGoes() throws IOException {
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@127.0.0.1:9093");
    p.setProperty("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
    p.setProperty("log.dirs", tmp.resolve("a") + "," + tmp.resolve("b"));
    Path file = tmp.resolve("node.properties");
    try (var out = Files.newOutputStream(file)) {
      p.store(out, null);
    }
    CliTest.Result r = CliTest.cli("", "storage", "format", "--config", file.toString(), "--cluster-id", CLUSTER);
    assertEquals(0, r.exit(), r.err());
    assertEquals(List.of("Formatting " + tmp.resolve("a").toAbsolutePath().normalize(),
        "Formatting " + tmp.resolve("b").toAbsolutePath().normalize(),
        "Formatted 2 directories for cluster " + CLUSTER), r.lines());
  }

  @Test
  void formatWritesMetaPropertiesInEveryDirectory() throws IOException {
    NodeConfig c = threeDirs();
    assertFalse(Storage.isFormatted(c));
    assertEquals(3, Storage.format(c, CLUSTER, false));
    for (String d : List.of("a", "b", "meta")) {
      Properties p = meta(tmp.resolve(d));
      assertEquals(CLUSTER, p.getProperty("cluster.id"), d);
      assertEquals("1", p.getProperty("node.id"), d);
      assertEquals("1", p.getProperty("version"), d);
      assertFalse(Files.exists(tmp.resolve(d).resolve(Storage.META_PROPERTIES + ".tmp")), "no temp file left in " + d);
    }
    assertTrue(Storage.isFormatted(c));
  }

  @Test
  void theMetadataDirIsFormattedOnceWhenItIsALogDir() throws IOException {
    NodeConfig c = config(1, tmp.resolve("a") + "," + tmp.resolve("b"), tmp.resolve("b").toString());
    assertEquals(2, Storage.format(c, CLUSTER, false));
    assertEquals(CLUSTER, Storage.check(c));
  }

  @Test
  void checkReturnsTheClusterId() throws IOException {
    NodeConfig c = threeDirs();
    Storage.format(c, CLUSTER, false);
    assertEquals(CLUSTER, Storage.check(c));
  }

  @Test
  void checkOnAnUnformattedDirectoryTellsHowToFormat() throws IOException {
    NodeConfig c = threeDirs();
    ConfigException none = assertThrows(ConfigException.class, () -> Storage.check(c));
    assertTrue(none.getMessage().contains("raftline storage format"), none.getMessage());

    Storage.format(c, CLUSTER, false);
    Files.delete(tmp.resolve("b").resolve(Storage.META_PROPERTIES));
    assertFalse(Storage.isFormatted(c));
    ConfigException one = assertThrows(ConfigException.class, () -> Storage.check(c));
    assertTrue(one.getMessage().contains("raftline storage format"), one.getMessage());
    assertTrue(one.getMessage().contains(tmp.resolve("b").toString()), "names the directory: " + one.getMessage());
  }

  @Test
  void reformattingWithoutIgnoreFormattedIsRefused() throws IOException {
    NodeConfig c = threeDirs();
    Storage.format(c, CLUSTER, false);
    String other = Storage.randomClusterId();
    ConfigException e = assertThrows(ConfigException.class, () -> Storage.format(c, other, false));
    assertTrue(e.getMessage().contains("already formatted"), e.getMessage());
    assertTrue(e.getMessage().contains("--ignore-formatted"), e.getMessage());
    assertEquals(CLUSTER, Storage.check(c), "the existing format is untouched");
  }

  @Test
  void reformattingWithIgnoreFormattedSkipsFormattedDirectories() throws IOException {
    NodeConfig c = threeDirs();
    Storage.format(c, CLUSTER, false);
    assertEquals(0, Storage.format(c, Storage.randomClusterId(), true));
    assertEquals(CLUSTER, Storage.check(c));

    Files.delete(tmp.resolve("meta").resolve(Storage.META_PROPERTIES));
    assertEquals(1, Storage.format(c, CLUSTER, true));
    assertEquals(CLUSTER, Storage.check(c));
  }

  @Test
  void aDirectoryOfAnotherNodeIsRefused() throws IOException {
    Path dir = tmp.resolve("shared");
    Storage.format(config(1, dir.toString(), null), CLUSTER, false);
    NodeConfig node2 = config(2, dir.toString(), null);
    ConfigException e = assertThrows(ConfigException.class, () -> Storage.check(node2));
    assertTrue(e.getMessage().contains("node.id"), e.getMessage());
    assertTrue(e.getMessage().contains("1") && e.getMessage().contains("2"), e.getMessage());
  }

  @Test
  void directoriesOfDifferentClustersAreRefused() throws IOException {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    String otherCluster = Storage.randomClusterId();
    Storage.format(config(1, a.toString(), null), CLUSTER, false);
    Storage.format(config(1, b.toString(), null), otherCluster, false);
    NodeConfig both = config(1, a + "," + b, null);
    ConfigException e = assertThrows(ConfigException.class, () -> Storage.check(both));
    assertTrue(e.getMessage().contains(CLUSTER) && e.getMessage().contains(otherCluster), e.getMessage());
  }

  @Test
  void malformedClusterIdsAreRefusedAndNothingIsWritten() {
    NodeConfig c = threeDirs();
    for (String bad : List.of("", "not-a-uuid", "MkU3OEVBNTcwNTJENDM2Q", "MkU3OEVBNTcwNTJENDM2Qg=",
        "MkU3OEVBNTcwNTJENDM2Q+", "MkU3OEVBNTcwNTJENDM2Q/", "MkU3OEVBNTcwNTJENDM2Q!", "MkU3OEVBNTcwNTJENDM2QgAA")) {
      ConfigException e = assertThrows(ConfigException.class, () -> Storage.format(c, bad, false), "'" + bad + "'");
      assertTrue(e.getMessage().contains("cluster id"), e.getMessage());
    }
    assertFalse(Files.exists(tmp.resolve("a").resolve(Storage.META_PROPERTIES)));
    assertFalse(Storage.isFormatted(c));
  }

  @Test
  void randomClusterIdsAre22UrlSafeCharactersAndAccepted() throws IOException {
    String first = Storage.randomClusterId();
    for (int i = 0; i < 100; i++) {
      String id = Storage.randomClusterId();
      assertEquals(22, id.length(), id);
      assertTrue(id.matches("[A-Za-z0-9_-]{22}"), id);
      Storage.checkClusterId(id);
    }
    assertNotEquals(first, Storage.randomClusterId());
    NodeConfig c = threeDirs();
    Storage.format(c, first, false);
    assertEquals(first, Storage.check(c));
  }

  /**
   * A refused format should leave every directory as it was. Kafka's format checks all directories
   * before writing any.
   */
  @Test
  void aRefusedFormatWritesNothing() throws IOException {
    NodeConfig c = threeDirs();
    Storage.format(config(1, tmp.resolve("b").toString(), null), CLUSTER, false);
    assertThrows(ConfigException.class, () -> Storage.format(c, Storage.randomClusterId(), false));
    assertFalse(Files.exists(tmp.resolve("a").resolve(Storage.META_PROPERTIES)));
  }
}
