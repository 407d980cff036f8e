package io.raftline.deploy;

import io.raftline.protocol.LoopbackPorts;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Properties;

/** Configurations for test nodes on loopback, with ports chosen free. */
final class TestNodes {
  private TestNodes() {}

  /** A free port that nothing takes before the node binds it (see {@link LoopbackPorts}). */
  static int freePort() throws IOException {
    return LoopbackPorts.one();
  }

  /**
   * A combined single-node cluster with both listeners on the given ports, the HTTP listener on a
   * port the OS picks (never the fixed default, which parallel runs would fight over), and data
   * under {@code dir}.
   */
  static Properties combined(Path dir, int brokerPort, int controllerPort) {
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.setProperty("log.dirs", dir.resolve("data").toString());
    p.setProperty("http.listener", "127.0.0.1:0");
    return p;
  }
}
