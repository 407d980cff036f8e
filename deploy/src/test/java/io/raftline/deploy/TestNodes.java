package io.raftline.deploy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Properties;

/** Configurations for test nodes on loopback, with ports the OS reports free. */
final class TestNodes {
  private TestNodes() {}

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
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
