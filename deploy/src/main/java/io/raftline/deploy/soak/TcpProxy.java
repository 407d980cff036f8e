package io.raftline.deploy.soak;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Fault-injecting TCP proxies for the controller quorum's traffic: one listener per (node, other voter)
 * pair, so each node's {@code controller.quorum.voters} can name, for every other voter, a port of
 * this proxy instead of that voter's own port. {@link #isolate(int)} cuts every link from and to a
 * node as a network partition does: connections stay open but carry nothing (bytes are read and
 * dropped), and new ones are accepted and then ignored, so peers see timeouts, not resets.
 * {@link #heal(int)} closes the dead connections, and new ones forward again.
 *
 * <p>Only the quorum and broker-to-controller traffic passes here (brokers learn each other's
 * addresses from their registrations, so replication between brokers and client traffic go direct):
 * a cut isolates a node's controller and its broker's heartbeats and metadata fetches, not its
 * partition replication.
 */
final class TcpProxy implements AutoCloseable {
  /** One listener: node {@code from}'s way to voter {@code to}. */
  private final class Link {
    final int from;
    final int to;
    final int targetPort;
    final ServerSocket server;
    final Set<Connection> connections = ConcurrentHashMap.newKeySet();

    Link(int from, int to, int targetPort) throws IOException {
      this.from = from;
      this.to = to;
      this.targetPort = targetPort;
      this.server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    }

    boolean cut() {
      return isolated.contains(from) || isolated.contains(to);
    }

    void acceptLoop() {
      while (!closed) {
        Socket client;
        try {
          client = server.accept();
        } catch (IOException e) {
          return;
        }
        Connection c = new Connection(this, client);
        connections.add(c);
        if (cut()) {
          c.blackholed = true;
          c.startDropping();
        } else {
          c.startForwarding();
        }
      }
    }
  }

  /** One proxied connection; once blackholed it never forwards again, and heal closes it. */
  private static final class Connection {
    final Link link;
    final Socket client;
    volatile Socket upstream;
    volatile boolean blackholed;

    Connection(Link link, Socket client) {
      this.link = link;
      this.client = client;
    }

    void startDropping() {
      daemon("raftline-soak-proxy-drop", () -> pump(client, null));
    }

    void startForwarding() {
      daemon("raftline-soak-proxy-" + link.from + "-" + link.to, () -> {
        try {
          Socket up = new Socket();
          up.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), link.targetPort), 2_000);
          up.setTcpNoDelay(true);
          client.setTcpNoDelay(true);
          upstream = up;
        } catch (IOException e) {
          close();
          return;
        }
        daemon("raftline-soak-proxy-" + link.to + "-" + link.from, () -> pump(upstream, client));
        pump(client, upstream);
      });
    }

    /** Copies {@code in} to {@code out} until either closes; drops the bytes once blackholed. */
    private void pump(Socket in, Socket out) {
      byte[] buffer = new byte[16 * 1024];
      try {
        InputStream is = in.getInputStream();
        OutputStream os = out == null ? null : out.getOutputStream();
        int n;
        while ((n = is.read(buffer)) >= 0) {
          if (!blackholed && os != null) {
            os.write(buffer, 0, n);
            os.flush();
          }
        }
      } catch (IOException e) {
        // closed on either side
      }
      if (!blackholed) {
        close();
      }
    }

    void close() {
      link.connections.remove(this);
      closeQuietly(client);
      closeQuietly(upstream);
    }
  }

  private final Map<String, Link> links = new TreeMap<>();
  private final Set<Integer> isolated = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /**
   * Opens a listener for every ordered pair (node, voter) with node != voter.
   *
   * @param nodes every node id
   * @param voterPorts each voter's real controller port
   */
  TcpProxy(List<Integer> nodes, Map<Integer, Integer> voterPorts) throws IOException {
    try {
      for (int from : nodes) {
        for (Map.Entry<Integer, Integer> v : voterPorts.entrySet()) {
          if (v.getKey() != from) {
            links.put(from + "->" + v.getKey(), new Link(from, v.getKey(), v.getValue()));
          }
        }
      }
    } catch (IOException e) {
      close();
      throw e;
    }
    for (Link l : links.values()) {
      daemon("raftline-soak-proxy-accept-" + l.from + "-" + l.to, l::acceptLoop);
    }
  }

  /** The port node {@code from} must use to reach voter {@code to}. */
  int port(int from, int to) {
    return links.get(from + "->" + to).server.getLocalPort();
  }

  /** Cuts every link from and to {@code node}: open connections go silent, new ones are ignored. */
  void isolate(int node) {
    isolated.add(node);
    for (Link l : links.values()) {
      if (l.from == node || l.to == node) {
        for (Connection c : l.connections) {
          c.blackholed = true;
        }
      }
    }
  }

  /** Restores the links of {@code node} (those not cut by another isolation): dead connections close. */
  void heal(int node) {
    isolated.remove(node);
    for (Link l : links.values()) {
      if (!l.cut()) {
        for (Connection c : new ArrayList<>(l.connections)) {
          if (c.blackholed) {
            c.close();
          }
        }
      }
    }
  }

  Set<Integer> isolated() {
    return Set.copyOf(isolated);
  }

  @Override
  public void close() {
    closed = true;
    for (Link l : links.values()) {
      closeQuietly(l.server);
      for (Connection c : new ArrayList<>(l.connections)) {
        c.close();
      }
    }
  }

  private static void daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(java.io.Closeable c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }
}
