package io.raftline.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.config.NetworkConfig;
import io.raftline.client.ConsumerRecord;
import io.raftline.client.ProducerRecord;
import io.raftline.client.RaftlineClient;
import io.raftline.client.TopicSubscription;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Raftline embedded in someone else's application: a clustered Vert.x instance (Hazelcast cluster
 * manager on loopback, test scope only) deploys a node, uses it, and undeploys it. Afterwards none of
 * the node's deployments, ports or files are left: the host keeps running as it was.
 */
class ClusteredEmbeddingTest {
  @TempDir Path dir;

  private static Vertx clusteredHost() {
    Logger.getLogger("com.hazelcast").setLevel(Level.WARNING);
    Config cfg = ConfigUtil.loadConfig();
    cfg.setClusterName("raftline-embedding-" + UUID.randomUUID());
    cfg.setProperty("hazelcast.phone.home.enabled", "false");
    cfg.setProperty("hazelcast.logging.type", "jdk");
    cfg.setProperty("hazelcast.wait.seconds.before.join", "0");
    NetworkConfig net = cfg.getNetworkConfig();
    net.setPort(5701).setPortAutoIncrement(true).setPortCount(100);
    net.getInterfaces().setEnabled(true).addInterface("127.0.0.1");
    net.getJoin().getMulticastConfig().setEnabled(false);
    net.getJoin().getAutoDetectionConfig().setEnabled(false);
    net.getJoin().getTcpIpConfig().setEnabled(true).addMember("127.0.0.1");
    VertxOptions options = new VertxOptions();
    options.getEventBusOptions().setHost("127.0.0.1").setPort(0);
    return Vertx.builder().with(options).withClusterManager(new HazelcastClusterManager(cfg)).buildClustered().await();
  }

  /** Open file descriptors of this process that point into {@code under}. */
  private static List<String> openFilesUnder(Path under) throws IOException {
    List<String> open = new ArrayList<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          Path target = Files.readSymbolicLink(fd);
          if (target.startsWith(under)) {
            open.add(target.toString());
          }
        } catch (IOException gone) {
          // the descriptor closed while we looked
        }
      }
    }
    return open;
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void aNodeEmbedsInAClusteredHostAndLeavesNothingBehind() throws Exception {
    Vertx host = clusteredHost();
    try {
      Set<String> hostDeployments = new HashSet<>(host.deploymentIDs());
      NodeConfig config = NodeConfig.from(TestNodes.combined(dir, 0, 0));
      Storage.format(config, Storage.randomClusterId(), false);
      RaftlineNode node = Await.await(RaftlineNode.start(host, config, Storage.check(config)));
      int brokerPort = node.brokerPort();
      int controllerPort = node.controllerPort();

      RaftlineClient client = RaftlineClient.create(host, Map.of("bootstrap.servers", "127.0.0.1:" + brokerPort));
      Await.await(client.admin().createTopic("embedded", 2, 1));
      for (int i = 0; i < 100; i++) {
        Await.await(client.producer().send(ProducerRecord.of("embedded", ("k" + i).getBytes(StandardCharsets.UTF_8),
            ("v" + i).getBytes(StandardCharsets.UTF_8))));
      }
      List<ConsumerRecord> read = new ArrayList<>();
      Promise<Void> done = Promise.promise();
      TopicSubscription s = client.subscribeFromBeginning("embedded");
      s.handler(r -> {
        read.add(r);
        if (read.size() == 100) {
          s.close();
          done.tryComplete();
        }
      });
      Await.await(done.future());
      assertEquals(100, read.size());
      assertTrue(!openFilesUnder(dir.toRealPath()).isEmpty(), "the running node holds its logs open");
      Await.await(client.close());

      Await.await(node.stop());
      assertEquals(hostDeployments, new HashSet<>(host.deploymentIDs()), "every verticle of the node is undeployed");
      assertEquals(List.of(), openFilesUnder(dir.toRealPath()), "no file of the node stays open");
      long deadline = System.currentTimeMillis() + 10_000;
      while (!(bindable(brokerPort) && bindable(controllerPort)) && System.currentTimeMillis() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(bindable(brokerPort) && bindable(controllerPort), "the node's ports are free again");
    } finally {
      host.close().await();
    }
  }
}
