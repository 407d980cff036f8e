package io.raftline.deploy.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The quorum proxy forwards, goes silent for an isolated node (no reset), and forwards again once healed. */
class TcpProxyTest {
  private ServerSocket echo;
  private TcpProxy proxy;

  @BeforeEach
  void start() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!echo.isClosed()) {
        try {
          Socket s = echo.accept();
          Thread c = new Thread(() -> {
            try (s) {
              s.getInputStream().transferTo(s.getOutputStream());
            } catch (IOException ignored) {
              // closed
            }
          });
          c.setDaemon(true);
          c.start();
        } catch (IOException e) {
          return;
        }
      }
    });
    t.setDaemon(true);
    t.start();
    // Node 1 reaches voter 2 (the echo server) through the proxy.
    proxy = new TcpProxy(List.of(1, 2), Map.of(2, echo.getLocalPort()));
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  private Socket connect() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port(1, 2));
    s.setSoTimeout(1_000);
    return s;
  }

  private static int roundTrip(Socket s, int b) throws IOException {
    OutputStream out = s.getOutputStream();
    InputStream in = s.getInputStream();
    out.write(b);
    out.flush();
    return in.read();
  }

  @Test
  void forwardsCutsAndHeals() throws Exception {
    try (Socket before = connect()) {
      assertEquals(7, roundTrip(before, 7));
      proxy.isolate(2);
      assertThrows(SocketTimeoutException.class, () -> roundTrip(before, 8), "an open connection goes silent");
      try (Socket during = connect()) {
        assertThrows(SocketTimeoutException.class, () -> roundTrip(during, 9), "a new one is accepted but ignored");
      }
      proxy.heal(2);
      assertEquals(-1, before.getInputStream().read(), "healing closes the dead connection");
    }
    try (Socket after = connect()) {
      assertEquals(10, roundTrip(after, 10));
    }
  }

  /** A process (bash) that connects to {@code port} once told to, sends "ping" and prints what comes back. */
  private static Process pinger(int port) throws IOException {
    return new ProcessBuilder("bash", "-c", "read go; exec 3<>/dev/tcp/127.0.0.1/" + port
        + "; echo ping >&3; read -t 2 line <&3 && echo \"$line\"").redirectErrorStream(true).start();
  }

  /** Starts a pinger as node {@code id}, lets it connect and returns what it printed. */
  private static String pingAsNode(Process p, Map<Long, Integer> pids, int id) throws Exception {
    pids.put(p.pid(), id);
    p.getOutputStream().write("go\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    p.getOutputStream().flush();
    assertTrue(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS), "pinger did not finish");
    return new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
  }

  @Test
  void brokerLinkCutsNodesButNeverClients() throws Exception {
    Assumptions.assumeTrue(Files.exists(Path.of("/proc/net/tcp")) && Files.isExecutable(Path.of("/bin/bash")),
        "needs Linux /proc and bash");
    Map<Long, Integer> pids = new ConcurrentHashMap<>();
    // Broker 2 is the echo server; node 1's processes and this JVM (a client) reach it through one port.
    try (TcpProxy brokers = new TcpProxy(List.of(1, 2), Map.of(), Map.of(2, echo.getLocalPort()), () -> pids)) {
      int port = brokers.brokerPort(2);
      assertEquals("ping", pingAsNode(pinger(port), pids, 1), "forwarded before the cut");

      brokers.isolate(1);
      assertEquals("", pingAsNode(pinger(port), pids, 1), "node 1 is cut from broker 2");
      try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
        client.setSoTimeout(5_000);
        assertEquals(5, roundTrip(client, 5), "a client still reaches broker 2");
      }
      brokers.heal(1);
      brokers.isolate(2);
      try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
        client.setSoTimeout(5_000);
        assertEquals(6, roundTrip(client, 6), "a client still reaches the isolated broker itself");
      }
      assertEquals("", pingAsNode(pinger(port), pids, 1), "node 1 cannot reach isolated broker 2");
      brokers.heal(2);
      assertEquals("ping", pingAsNode(pinger(port), pids, 1), "forwarded again after healing");
    }
  }

  @Test
  void peerProcessFindsTheProcessHoldingTheCallingSocket() throws Exception {
    Assumptions.assumeTrue(Files.exists(Path.of("/proc/net/tcp")), "needs Linux /proc");
    try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Socket caller = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        Socket accepted = server.accept()) {
      long self = ProcessHandle.current().pid();
      assertEquals(7, PeerProcess.nodeOf(accepted.getPort(), server.getLocalPort(), Map.of(self, 7)));
      assertEquals(PeerProcess.NOT_A_NODE, PeerProcess.nodeOf(accepted.getPort(), server.getLocalPort(),
          Map.of(self + 1_000_000L, 7)), "a socket no listed process holds belongs to no node");
      assertEquals(caller.getLocalPort(), accepted.getPort());
    }
  }
}
