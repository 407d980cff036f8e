package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.QuorumVoter;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class NodeConfigTest {

  /** A valid combined node 1 of a three-voter quorum. */
  private static Properties combined() {
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@10.0.0.1:9093,2@10.0.0.2:9093,3@10.0.0.3:9093");
    p.setProperty("listeners", "PLAINTEXT://10.0.0.1:9092,CONTROLLER://10.0.0.1:9093");
    p.setProperty("log.dirs", "/var/raftline/a,/var/raftline/b");
    return p;
  }

  /** A valid broker-only node 4. */
  private static Properties brokerOnly() {
    Properties p = combined();
    p.setProperty("process.roles", "broker");
    p.setProperty("node.id", "4");
    p.setProperty("listeners", "PLAINTEXT://10.0.0.4:9092");
    return p;
  }

  private static Properties with(Properties base, String... keyValues) {
    Properties p = new Properties();
    p.putAll(base);
    for (int i = 0; i < keyValues.length; i += 2) {
      p.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return p;
  }

  private static Properties without(Properties base, String key) {
    Properties p = new Properties();
    p.putAll(base);
    p.remove(key);
    return p;
  }

  private static ConfigException assertRejectedNaming(String key, Properties p) {
    ConfigException e = assertThrows(ConfigException.class, () -> NodeConfig.from(p));
    assertTrue(e.getMessage().contains(key), "message should name " + key + ": " + e.getMessage());
    return e;
  }

  @Test
  void aValidCombinedNodeParses() {
    NodeConfig c = NodeConfig.from(combined());
    assertTrue(c.isBroker());
    assertTrue(c.isController());
    assertEquals(1, c.nodeId());
    assertEquals(List.of(new QuorumVoter(1, "10.0.0.1", 9093), new QuorumVoter(2, "10.0.0.2", 9093),
        new QuorumVoter(3, "10.0.0.3", 9093)), c.voters());
    assertEquals(new NodeConfig.Listener("PLAINTEXT", "10.0.0.1", 9092), c.brokerListener());
    assertEquals(new NodeConfig.Listener("CONTROLLER", "10.0.0.1", 9093), c.controllerListener());
    assertEquals(List.of(Path.of("/var/raftline/a"), Path.of("/var/raftline/b")), c.logDirs());
    assertEquals(Path.of("/var/raftline/a"), c.metadataLogDir(), "defaults to the first log dir");
    assertEquals(c.logDirs(), c.allDirs());
    assertEquals(1, c.intSetting("num.partitions"));
    assertEquals(1, c.intSetting("default.replication.factor"));
    assertEquals(1048588, c.intSetting("message.max.bytes"));
    assertEquals("", c.stringSetting("broker.rack"));
  }

  @Test
  void advertisedListenersNameWhereTheBrokerIsReached() {
    assertEquals(null, NodeConfig.from(combined()).advertisedBrokerListener());
    NodeConfig c = NodeConfig.from(with(combined(), "listeners", "PLAINTEXT://0.0.0.0:9092,CONTROLLER://10.0.0.1:9093",
        "advertised.listeners", "PLAINTEXT://broker-1.example:19092"));
    assertEquals(new NodeConfig.Listener("PLAINTEXT", "broker-1.example", 19092), c.advertisedBrokerListener());
    for (String bad : List.of("CONTROLLER://10.0.0.1:9093", "OTHER://h:1", "PLAINTEXT://h:0", "PLAINTEXT://0.0.0.0:9092",
        "PLAINTEXT://h:1,PLAINTEXT://g:2", "PLAINTEXT://h:x")) {
      ConfigException e = assertThrows(ConfigException.class,
          () -> NodeConfig.from(with(combined(), "advertised.listeners", bad)), bad);
      assertTrue(e.getMessage().startsWith("advertised.listeners: "), e.getMessage());
    }
    ConfigException controllerOnly = assertThrows(ConfigException.class, () -> NodeConfig.from(with(combined(),
        "process.roles", "controller", "listeners", "CONTROLLER://0.0.0.0:9093", "advertised.listeners", "PLAINTEXT://h:1")));
    assertTrue(controllerOnly.getMessage().contains("this node has none"), controllerOnly.getMessage());
  }

  @Test
  void fetchSessionSlotsMayBeZeroButNotNegative() {
    assertEquals(1000, NodeConfig.from(combined()).intSetting("max.incremental.fetch.session.cache.slots"));
    assertEquals(0, NodeConfig.from(with(combined(), "max.incremental.fetch.session.cache.slots", "0"))
        .intSetting("max.incremental.fetch.session.cache.slots"));
    ConfigException e = assertThrows(ConfigException.class,
        () -> NodeConfig.from(with(combined(), "max.incremental.fetch.session.cache.slots", "-1")));
    assertTrue(e.getMessage().contains("max.incremental.fetch.session.cache.slots"), e.getMessage());
  }

  @Test
  void aReplicaFetchWaitAboveTheLagTimeIsRefused() {
    ConfigException e = assertThrows(ConfigException.class, () -> NodeConfig.from(with(combined(),
        "replica.lag.time.max.ms", "1000", "replica.fetch.wait.max.ms", "1500")));
    assertTrue(e.getMessage().contains("replica.fetch.wait.max.ms (1500) must not be above replica.lag.time.max.ms (1000)"),
        e.getMessage());
    NodeConfig.from(with(combined(), "replica.lag.time.max.ms", "1000", "replica.fetch.wait.max.ms", "1000"));
  }

  @Test
  void aBrokerOnlyNodeParses() {
    NodeConfig c = NodeConfig.from(brokerOnly());
    assertTrue(c.isBroker());
    assertFalse(c.isController());
    assertEquals(4, c.nodeId());
    assertEquals(new NodeConfig.Listener("PLAINTEXT", "10.0.0.4", 9092), c.brokerListener());
    assertEquals(null, c.controllerListener());
  }

  @Test
  void aControllerOnlyNodeNeedsNoBrokerListener() {
    NodeConfig c = NodeConfig.from(with(combined(), "process.roles", "controller", "listeners", "CONTROLLER://0.0.0.0:9093"));
    assertFalse(c.isBroker());
    assertTrue(c.isController());
    assertEquals(null, c.brokerListener());
  }

  @Test
  void valuesAreTrimmedAndPortZeroIsAllowed() {
    NodeConfig c = NodeConfig.from(with(combined(), "node.id", " 2 ", "listeners", " EXTERNAL://:0 , CONTROLLER://h:9093 ",
        "num.partitions", " 6 "));
    assertEquals(2, c.nodeId());
    assertEquals(new NodeConfig.Listener("EXTERNAL", "", 0), c.brokerListener());
    assertEquals(6, c.intSetting("num.partitions"));
  }

  @Test
  void metadataLogDirAndLogDirFallback() {
    NodeConfig c = NodeConfig.from(with(combined(), "metadata.log.dir", "/var/raftline/meta"));
    assertEquals(Path.of("/var/raftline/meta"), c.metadataLogDir());
    assertEquals(List.of(Path.of("/var/raftline/a"), Path.of("/var/raftline/b"), Path.of("/var/raftline/meta")),
        c.allDirs());
    NodeConfig single = NodeConfig.from(with(without(combined(), "log.dirs"), "log.dir", "/data/one"));
    assertEquals(List.of(Path.of("/data/one")), single.logDirs());
    NodeConfig both = NodeConfig.from(with(combined(), "log.dir", "/ignored"));
    assertEquals(Path.of("/var/raftline/a"), both.logDirs().get(0), "log.dirs takes precedence");
  }

  @Test
  void anUnknownKeyIsNamed() {
    assertRejectedNaming("log.dirz", with(combined(), "log.dirz", "/x"));
    assertRejectedNaming("zookeeper.connect", with(combined(), "zookeeper.connect", "zk:2181"));
  }

  @Test
  void missingRequiredKeysAreNamed() {
    for (String key : List.of("process.roles", "node.id", "controller.quorum.voters", "listeners", "log.dirs")) {
      assertRejectedNaming(key, without(combined(), key));
      if (!key.equals("log.dirs")) {
        assertRejectedNaming(key, with(combined(), key, "  "));
      }
    }
  }

  @Test
  void badNodeIdIsNamed() {
    for (String bad : List.of("-1", "one", "1.0", "99999999999")) {
      assertRejectedNaming("node.id", with(combined(), "node.id", bad));
    }
  }

  @Test
  void badRolesAreNamed() {
    assertRejectedNaming("process.roles", with(combined(), "process.roles", "leader"));
    assertRejectedNaming("process.roles", with(combined(), "process.roles", "broker,zookeeper"));
  }

  @Test
  void badListenersAreNamed() {
    assertRejectedNaming("listeners", with(combined(), "listeners", "10.0.0.1:9092,CONTROLLER://10.0.0.1:9093"));
    assertRejectedNaming("listeners", with(combined(), "listeners", "://10.0.0.1:9092,CONTROLLER://10.0.0.1:9093"));
    assertRejectedNaming("listeners", with(combined(), "listeners", "PLAINTEXT://10.0.0.1,CONTROLLER://10.0.0.1:9093"));
    assertRejectedNaming("listeners", with(combined(), "listeners", "PLAINTEXT://10.0.0.1:,CONTROLLER://10.0.0.1:9093"));
    assertRejectedNaming("listeners", with(combined(), "listeners", "PLAINTEXT://h:port,CONTROLLER://10.0.0.1:9093"));
    assertRejectedNaming("listeners", with(combined(), "listeners", "PLAINTEXT://h:65536,CONTROLLER://10.0.0.1:9093"));
    assertRejectedNaming("listeners", with(combined(), "listeners", "PLAINTEXT://h:-1,CONTROLLER://10.0.0.1:9093"));
    ConfigException dup = assertRejectedNaming("listeners",
        with(combined(), "listeners", "PLAINTEXT://a:9092,PLAINTEXT://b:9094,CONTROLLER://10.0.0.1:9093"));
    assertTrue(dup.getMessage().contains("PLAINTEXT"), dup.getMessage());
  }

  @Test
  void badVotersAreNamed() {
    for (String bad : List.of("1@h", "x@h:9093", "1@h:9093,1@g:9093", "h:9093", "1@h:70000")) {
      assertRejectedNaming("controller.quorum.voters", with(combined(), "controller.quorum.voters", bad));
    }
  }

  @Test
  void aControllerThatIsNotAVoterIsRefused() {
    assertRejectedNaming("controller.quorum.voters", with(combined(), "node.id", "7"));
  }

  @Test
  void aVoterWithoutTheControllerRoleIsRefused() {
    assertRejectedNaming("process.roles", with(brokerOnly(), "node.id", "2"));
  }

  @Test
  void aBrokerWithoutABrokerListenerIsRefused() {
    assertRejectedNaming("listeners", with(combined(), "listeners", "CONTROLLER://10.0.0.1:9093"));
    assertRejectedNaming("listeners", with(brokerOnly(), "listeners", "CONTROLLER://10.0.0.4:9093"));
  }

  @Test
  void aControllerWithoutAControllerListenerIsRefused() {
    assertRejectedNaming("controller.listener.names",
        with(combined(), "listeners", "PLAINTEXT://10.0.0.1:9092,OTHER://10.0.0.1:9093"));
    NodeConfig renamed = NodeConfig.from(with(combined(), "listeners", "PLAINTEXT://10.0.0.1:9092,OTHER://10.0.0.1:9093",
        "controller.listener.names", "OTHER"));
    assertEquals("OTHER", renamed.controllerListener().name());
    assertEquals("PLAINTEXT", renamed.brokerListener().name());
  }

  @Test
  void numericSettingsOutOfRangeAreNamed() {
    assertRejectedNaming("num.partitions", with(combined(), "num.partitions", "0"));
    assertRejectedNaming("default.replication.factor", with(combined(), "default.replication.factor", "0"));
    assertRejectedNaming("message.max.bytes", with(combined(), "message.max.bytes", "big"));
    assertRejectedNaming("controller.quorum.election.timeout.ms",
        with(combined(), "controller.quorum.election.timeout.ms", "9"));
    assertRejectedNaming("controller.quorum.fetch.timeout.ms",
        with(combined(), "controller.quorum.fetch.timeout.ms", "-10"));
  }

  @Test
  void devDefaultsAreACombinedLocalNode() {
    NodeConfig c = NodeConfig.from(NodeConfig.devDefaults());
    assertTrue(c.isBroker());
    assertTrue(c.isController());
    assertEquals(1, c.nodeId());
    assertEquals(new NodeConfig.Listener("PLAINTEXT", "127.0.0.1", 9092), c.brokerListener());
    assertEquals(new NodeConfig.Listener("CONTROLLER", "127.0.0.1", 9093), c.controllerListener());
    assertEquals(List.of(new QuorumVoter(1, "127.0.0.1", 9093)), c.voters());
    assertEquals(List.of(Path.of("./data")), c.logDirs());
  }

  @Test
  void describeKeysListsEveryKey() {
    String doc = NodeConfig.describeKeys();
    for (String key : List.of("process.roles", "node.id", "controller.quorum.voters", "listeners", "log.dirs",
        "metadata.log.dir", "num.partitions", "message.max.bytes")) {
      assertTrue(doc.contains(key), key);
    }
  }

  @Test
  void httpListenerDefaultsToLoopbackAndNoneDisablesIt() {
    assertEquals(new NodeConfig.Listener("HTTP", "127.0.0.1", 9644), NodeConfig.from(combined()).httpListener());
    assertEquals(null, NodeConfig.from(with(combined(), "http.listener", "none")).httpListener());
    assertEquals(null, NodeConfig.from(with(combined(), "http.listener", " NONE ")).httpListener());
    assertEquals(new NodeConfig.Listener("HTTP", "0.0.0.0", 0),
        NodeConfig.from(with(combined(), "http.listener", "0.0.0.0:0")).httpListener());
    assertEquals(new NodeConfig.Listener("HTTP", "::1", 9644),
        NodeConfig.from(with(combined(), "http.listener", "[::1]:9644")).httpListener());
    assertTrue(NodeConfig.describeKeys().contains("http.listener"));
  }

  @Test
  void badHttpListenerIsNamed() {
    for (String bad : List.of("", "9644", ":9644", "localhost:", "localhost:http", "localhost:65536", "h:-1",
        "::1:9644", "[]:9644", "off")) {
      assertRejectedNaming("http.listener", with(combined(), "http.listener", bad));
    }
  }

  /** log.dirs with no directory in it must be refused at parse time, naming log.dirs. */
  @Test
  void logDirsWithoutADirectoryIsRefused() {
    assertRejectedNaming("log.dirs", with(combined(), "log.dirs", ","));
  }

  @Test
  void anEmptyLogDirsFallsBackToLogDir() {
    NodeConfig c = NodeConfig.from(with(combined(), "log.dirs", "", "log.dir", "/var/raftline"));
    assertEquals(java.util.List.of(java.nio.file.Path.of("/var/raftline")), c.logDirs());
  }

  @Test
  void flushPolicyAndHighWatermarkCheckpointSettings() {
    NodeConfig defaults = NodeConfig.from(combined());
    assertEquals(Long.MAX_VALUE, defaults.longSetting("log.flush.interval.messages"), "off by default, as in Kafka");
    assertEquals(Long.MAX_VALUE, defaults.longSetting("log.flush.interval.ms"), "off by default");
    assertEquals(5000, defaults.longSetting("replica.high.watermark.checkpoint.interval.ms"));
    NodeConfig set = NodeConfig.from(with(combined(), "log.flush.interval.messages", "10000",
        "log.flush.interval.ms", "0", "replica.high.watermark.checkpoint.interval.ms", "100"));
    assertEquals(10000, set.longSetting("log.flush.interval.messages"));
    assertEquals(0, set.longSetting("log.flush.interval.ms"));
    assertEquals(100, set.longSetting("replica.high.watermark.checkpoint.interval.ms"));
    for (String[] bad : new String[][] {{"log.flush.interval.messages", "0"}, {"log.flush.interval.messages", "many"},
        {"log.flush.interval.messages", "9223372036854775808"}, {"log.flush.interval.ms", "-1"},
        {"log.flush.interval.ms", "1.5"}, {"replica.high.watermark.checkpoint.interval.ms", "0"},
        {"replica.high.watermark.checkpoint.interval.ms", "3000000000"}}) {
      ConfigException e = assertRejectedNaming(bad[0], with(combined(), bad[0], bad[1]));
      assertTrue(e.getMessage().contains(bad[1]), "message should quote the value: " + e.getMessage());
    }
  }

  @Test
  void logCleanerSettings() {
    NodeConfig defaults = NodeConfig.from(combined());
    assertTrue(defaults.booleanSetting("log.cleaner.enable"), "on by default, as in Kafka");
    assertEquals(1, defaults.intSetting("log.cleaner.threads"));
    assertEquals(134_217_728L, defaults.longSetting("log.cleaner.dedupe.buffer.size"));
    assertEquals(0.5, defaults.doubleSetting("log.cleaner.min.cleanable.ratio"));
    assertEquals(15_000, defaults.longSetting("log.cleaner.backoff.ms"));
    NodeConfig set = NodeConfig.from(with(combined(), "log.cleaner.enable", "FALSE", "log.cleaner.threads", "2",
        "log.cleaner.dedupe.buffer.size", "2097152", "log.cleaner.min.cleanable.ratio", "0.1",
        "log.cleaner.backoff.ms", "50"));
    assertFalse(set.booleanSetting("log.cleaner.enable"));
    assertEquals(2, set.intSetting("log.cleaner.threads"));
    assertEquals(2_097_152L, set.longSetting("log.cleaner.dedupe.buffer.size"));
    assertEquals(0.1, set.doubleSetting("log.cleaner.min.cleanable.ratio"));
    assertEquals(50, set.longSetting("log.cleaner.backoff.ms"));
    for (String[] bad : new String[][] {{"log.cleaner.enable", "yes"}, {"log.cleaner.threads", "0"},
        {"log.cleaner.threads", "two"}, {"log.cleaner.dedupe.buffer.size", "1048575"},
        {"log.cleaner.dedupe.buffer.size", "0"}, {"log.cleaner.min.cleanable.ratio", "1.01"},
        {"log.cleaner.min.cleanable.ratio", "-0.5"}, {"log.cleaner.min.cleanable.ratio", "half"},
        {"log.cleaner.min.cleanable.ratio", "NaN"}, {"log.cleaner.backoff.ms", "0"}}) {
      ConfigException e = assertRejectedNaming(bad[0], with(combined(), bad[0], bad[1]));
      assertTrue(e.getMessage().contains(bad[1]), "message should quote the value: " + e.getMessage());
    }
    // 1 MiB per thread: 3 MiB is enough for one thread but not for four.
    NodeConfig.from(with(combined(), "log.cleaner.dedupe.buffer.size", "3145728"));
    ConfigException e = assertRejectedNaming("log.cleaner.dedupe.buffer.size",
        with(combined(), "log.cleaner.dedupe.buffer.size", "3145728", "log.cleaner.threads", "4"));
    assertTrue(e.getMessage().contains("log.cleaner.threads=4"), e.getMessage());
  }
}
