package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.QuorumVoter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The example configurations shipped in {@code deploy/config/} (and in the distribution's
 * {@code config/}): every file is a valid node configuration, and each multi-node set describes one
 * cluster whose nodes could run side by side on one machine.
 */
class ExampleConfigsTest {
  /** Surefire runs in the module directory. */
  private static final Path CONFIG_DIR = Path.of("config");
  private static final Map<String, NodeConfig> CONFIGS = new TreeMap<>();

  @BeforeAll
  static void parseAll() throws IOException {
    try (Stream<Path> files = Files.list(CONFIG_DIR)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".properties")).toList()) {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(f)) {
          p.load(in);
        }
        try {
          CONFIGS.put(f.getFileName().toString().replace(".properties", ""), NodeConfig.from(p));
        } catch (ConfigException e) {
          throw new AssertionError(f + " is not a valid node configuration: " + e.getMessage(), e);
        }
      }
    }
  }

  private static List<NodeConfig> set(String... names) {
    List<NodeConfig> out = new ArrayList<>();
    for (String n : names) {
      assertNotNull(CONFIGS.get(n), "config/" + n + ".properties is missing; have " + CONFIGS.keySet());
      out.add(CONFIGS.get(n));
    }
    return out;
  }

  @Test
  void everyExpectedFileIsThere() {
    assertEquals(Set.of("dev", "cluster-1", "cluster-2", "cluster-3", "controller-1", "controller-2", "controller-3",
        "broker-4", "broker-5", "broker-6"), CONFIGS.keySet());
  }

  @Test
  void devIsOneCombinedNodeThatIsItsOwnQuorum() {
    NodeConfig dev = set("dev").get(0);
    assertTrue(dev.isBroker() && dev.isController());
    assertEquals(List.of(new QuorumVoter(dev.nodeId(), dev.controllerListener().host(), dev.controllerListener().port())),
        dev.voters());
    assertEquals(new NodeConfig.Listener("HTTP", "127.0.0.1", 9644), dev.httpListener(), "the documented default");
  }

  @Test
  void threeCombinedNodesFormOneCluster() {
    List<NodeConfig> nodes = set("cluster-1", "cluster-2", "cluster-3");
    nodes.forEach(n -> assertTrue(n.isBroker() && n.isController(), "combined: node " + n.nodeId()));
    assertOneCluster(nodes);
    assertEquals(3, nodes.get(0).voters().size());
  }

  @Test
  void dedicatedControllersAndBrokersFormOneCluster() {
    List<NodeConfig> controllers = set("controller-1", "controller-2", "controller-3");
    List<NodeConfig> brokers = set("broker-4", "broker-5", "broker-6");
    controllers.forEach(n -> assertTrue(n.isController() && !n.isBroker(), "controller only: node " + n.nodeId()));
    brokers.forEach(n -> assertTrue(n.isBroker() && !n.isController(), "broker only: node " + n.nodeId()));
    List<NodeConfig> all = new ArrayList<>(controllers);
    all.addAll(brokers);
    assertOneCluster(all);
    assertEquals(controllers.stream().map(NodeConfig::nodeId).toList(),
        controllers.get(0).voters().stream().map(QuorumVoter::id).toList(), "the voters are exactly the controllers");
  }

  /**
   * Same voters everywhere; each controller listens where the voters say it does; node ids, ports
   * (every listener and HTTP) and directories are distinct, so the set runs on one machine.
   */
  private static void assertOneCluster(List<NodeConfig> nodes) {
    List<QuorumVoter> voters = nodes.get(0).voters();
    Set<Integer> ids = new HashSet<>();
    Set<String> addresses = new HashSet<>();
    Set<Path> dirs = new HashSet<>();
    for (NodeConfig n : nodes) {
      assertEquals(voters, n.voters(), "controller.quorum.voters of node " + n.nodeId());
      assertTrue(ids.add(n.nodeId()), "node.id " + n.nodeId() + " appears twice");
      if (n.isController()) {
        NodeConfig.Listener c = n.controllerListener();
        assertTrue(voters.contains(new QuorumVoter(n.nodeId(), c.host(), c.port())),
            "node " + n.nodeId() + "'s controller listener " + c + " is not its entry in " + voters);
      }
      List<NodeConfig.Listener> listeners = new ArrayList<>();
      if (n.brokerListener() != null) {
        listeners.add(n.brokerListener());
      }
      if (n.controllerListener() != null) {
        listeners.add(n.controllerListener());
      }
      assertNotNull(n.httpListener(), "node " + n.nodeId() + " serves metrics and health");
      listeners.add(n.httpListener());
      for (NodeConfig.Listener l : listeners) {
        assertFalse(l.port() == 0, "example ports are fixed, so peers and scrapers can find them: " + l);
        assertTrue(addresses.add(l.host() + ":" + l.port()), l + " of node " + n.nodeId() + " is used twice");
      }
      for (Path d : n.allDirs()) {
        assertTrue(dirs.add(d.normalize()), "directory " + d + " of node " + n.nodeId() + " is shared");
      }
    }
  }
}
