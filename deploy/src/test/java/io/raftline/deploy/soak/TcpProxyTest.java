package io.raftline.deploy.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Map;
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
}
