package io.raftline.protocol;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports on 127.0.0.1 for listeners of node processes that are started later (local clusters, the soak,
 * benchmarks, tests), chosen so that nothing else takes them between choosing and binding.
 *
 * <p>A port the OS hands out for {@code bind(0)} comes from the kernel's ephemeral range, and so do the
 * local ports of outgoing connections. Once such a port is released for a node to bind later, another
 * process's {@code bind(0)} (the soak's proxy, another test) or an outgoing connection (a node already
 * running, dialling its peers) can take it first, and the node then fails to start with "Address already
 * in use". Ports below the ephemeral range are only ever taken by a listener that asks for that port by
 * number, so a free one chosen there at random stays free. Where the range cannot be read (not Linux),
 * the OS chooses.
 */
public final class LoopbackPorts {
  private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
  /** The lowest port chosen: above the well-known and the commonly configured ones. */
  private static final int LOWEST = 10_000;
  /** Below this many candidate ports the range is too small to choose at random in. */
  private static final int MIN_CANDIDATES = 1_000;
  private static final int ATTEMPTS = 1_000;
  /** Ports handed out by this process: a later call never repeats one, even if its node has not bound it yet. */
  private static final Set<Integer> HANDED_OUT = new HashSet<>();

  private LoopbackPorts() {}

  /** One free port. */
  public static int one() throws IOException {
    return distinct(1).get(0);
  }

  /**
   * {@code count} distinct free ports. Synchronized: callers are test, benchmark and CLI threads (never
   * an event loop), and {@link #HANDED_OUT} is shared by them.
   */
  public static synchronized List<Integer> distinct(int count) throws IOException {
    if (count < 0) {
      throw new IllegalArgumentException("count must not be negative: " + count);
    }
    int below = ephemeralLow();
    List<Integer> ports = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int port = below - LOWEST >= MIN_CANDIDATES ? randomFreeBelow(below) : fromOs();
      HANDED_OUT.add(port);
      ports.add(port);
    }
    return ports;
  }

  private static int randomFreeBelow(int below) throws IOException {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
      if (!HANDED_OUT.contains(port) && free(port)) {
        return port;
      }
    }
    throw new IOException("no free port on 127.0.0.1 between " + LOWEST + " and " + (below - 1) + " after "
        + ATTEMPTS + " attempts");
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int fromOs() throws IOException {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        if (!HANDED_OUT.contains(s.getLocalPort())) {
          return s.getLocalPort();
        }
      }
    }
    throw new IOException("the OS kept handing out ports already given to other nodes");
  }

  /** The first port of the kernel's ephemeral range, or 0 if it cannot be read. */
  static int ephemeralLow() {
    // Read as a stream: /proc files report size 0, and a read sized by that returns a truncated text.
    try (BufferedReader in = Files.newBufferedReader(EPHEMERAL_RANGE)) {
      String line = in.readLine();
      return line == null ? 0 : Integer.parseInt(line.trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }
}
