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
import java.util.function.Supplier;

/**
 * Fault-injecting TCP proxies between the soak's nodes. Two kinds of listener:
 *
 * <ul>
 *   <li>Quorum links: one per (node, other voter) pair, so each node's {@code controller.quorum.voters}
 *       names, for every other voter, a port of this proxy; the link knows both ends.
 *   <li>Broker links: one per broker, which registers the link's port as its {@code advertised.listeners};
 *       clients and the other brokers (replication, coordinator lookups) reach it there. One port
 *       serves every caller, so the calling end is found when a connection is accepted: the kernel's
 *       socket table ({@code /proc/net/tcp}) names the socket, and the nodes' open files name the
 *       process that holds it ({@link PeerProcess}). A caller that is no node (the harness's clients)
 *       is never cut.
 * </ul>
 *
 * <p>{@link #isolate(int)} cuts every link between a node and the other nodes as a network partition
 * does: connections stay open but carry nothing (bytes are read and dropped), and new ones are accepted
 * and then ignored, so peers see timeouts, not resets. Clients keep reaching an isolated broker, which
 * is the case that matters: an old leader still taking writes after the others moved on.
 * {@link #heal(int)} closes the dead connections, and new ones forward again.
 */
final class TcpProxy implements AutoCloseable {
  /** One listener: the way to node {@code to}, from node {@code from} (quorum) or from any caller (broker). */
  private final class Link {
    /** The calling node, or {@link #ANY} when it is resolved per connection. */
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

    void acceptLoop() {
      while (!closed) {
        Socket client;
        try {
          client = server.accept();
        } catch (IOException e) {
          return;
        }
        int caller = from != ANY ? from : callerOf(client);
        Connection c = new Connection(this, caller, client);
        connections.add(c);
        if (cut(caller, to)) {
          c.blackholed = true;
          c.startDropping();
        } else {
          c.startForwarding();
        }
      }
    }
  }

  /** The node holding the other end of {@code accepted}, or {@link PeerProcess#NOT_A_NODE}. */
  private int callerOf(Socket accepted) {
    try {
      return PeerProcess.nodeOf(accepted.getPort(), accepted.getLocalPort(), nodePids.get());
    } catch (IOException | RuntimeException e) {
      return PeerProcess.NOT_A_NODE;
    }
  }

  /** Whether traffic from {@code caller} to node {@code to} is cut: both are nodes and one is isolated. */
  private boolean cut(int caller, int to) {
    if (caller == PeerProcess.NOT_A_NODE || caller == to) {
      return false;
    }
    return isolated.contains(caller) || isolated.contains(to);
  }

  /** One proxied connection; once blackholed it never forwards again, and heal closes it. */
  private static final class Connection {
    final Link link;
    final int caller;
    final Socket client;
    volatile Socket upstream;
    volatile boolean blackholed;

    Connection(Link link, int caller, Socket client) {
      this.link = link;
      this.caller = caller;
      this.client = client;
    }

    void startDropping() {
      daemon("raftline-soak-proxy-drop", () -> pump(client, null));
    }

    void startForwarding() {
      daemon("raftline-soak-proxy-" + caller + "-" + link.to, () -> {
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
        daemon("raftline-soak-proxy-" + link.to + "-" + caller, () -> pump(upstream, client));
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

  private static final int ANY = Integer.MIN_VALUE;

  private final Map<String, Link> links = new TreeMap<>();
  private final Set<Integer> isolated = ConcurrentHashMap.newKeySet();
  private final Supplier<Map<Long, Integer>> nodePids;
  private volatile boolean closed;

  /** Quorum links only. */
  TcpProxy(List<Integer> nodes, Map<Integer, Integer> voterPorts) throws IOException {
    this(nodes, voterPorts, Map.of(), Map::of);
  }

  /**
   * Opens a listener for every ordered pair (node, voter) with node != voter, and one for every broker.
   *
   * @param nodes every node id
   * @param voterPorts each voter's real controller port
   * @param brokerPorts each broker's real client port
   * @param nodePids the running nodes' process ids (pid to node id), asked when a broker link accepts
   */
  TcpProxy(List<Integer> nodes, Map<Integer, Integer> voterPorts, Map<Integer, Integer> brokerPorts,
      Supplier<Map<Long, Integer>> nodePids) throws IOException {
    this.nodePids = nodePids;
    try {
      for (int from : nodes) {
        for (Map.Entry<Integer, Integer> v : voterPorts.entrySet()) {
          if (v.getKey() != from) {
            links.put(from + "->" + v.getKey(), new Link(from, v.getKey(), v.getValue()));
          }
        }
      }
      for (Map.Entry<Integer, Integer> b : brokerPorts.entrySet()) {
        links.put("*->broker-" + b.getKey(), new Link(ANY, b.getKey(), b.getValue()));
      }
    } catch (IOException e) {
      close();
      throw e;
    }
    for (Link l : links.values()) {
      daemon("raftline-soak-proxy-accept-" + (l.from == ANY ? "any" : l.from) + "-" + l.to, l::acceptLoop);
    }
  }

  /** The port to advertise for broker {@code id}: everyone reaches it through here. */
  int brokerPort(int id) {
    return links.get("*->broker-" + id).server.getLocalPort();
  }

  /** The port node {@code from} must use to reach voter {@code to}. */
  int port(int from, int to) {
    return links.get(from + "->" + to).server.getLocalPort();
  }

  /** Cuts every link between {@code node} and the other nodes: open connections go silent, new ones are ignored. */
  void isolate(int node) {
    isolated.add(node);
    for (Link l : links.values()) {
      for (Connection c : l.connections) {
        if (cut(c.caller, l.to)) {
          c.blackholed = true;
        }
      }
    }
  }

  /** Restores the links of {@code node} (those not cut by another isolation): dead connections close. */
  void heal(int node) {
    isolated.remove(node);
    for (Link l : links.values()) {
      for (Connection c : new ArrayList<>(l.connections)) {
        if (c.blackholed && !cut(c.caller, l.to)) {
          c.close();
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
