package io.raftline.deploy.soak;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which of the soak's node processes holds the other end of a loopback connection, from Linux's
 * {@code /proc}: the socket table gives the inode of the socket bound to the caller's port and
 * connected to ours, and a process holding that socket has an open file linking to
 * {@code socket:[inode]}. Only the nodes' own processes are searched.
 */
final class PeerProcess {
  static final int NOT_A_NODE = -1;
  private static final List<Path> SOCKET_TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

  private PeerProcess() {}

  /**
   * @param callerPort the connecting side's local port (the accepted socket's remote port)
   * @param ourPort the port the caller connected to
   * @param nodePids pid to node id of the processes to search
   * @return the node id, or {@link #NOT_A_NODE} if no node process holds the socket
   */
  static int nodeOf(int callerPort, int ourPort, Map<Long, Integer> nodePids) throws IOException {
    long inode = socketInode(callerPort, ourPort);
    if (inode <= 0) {
      return NOT_A_NODE;
    }
    String link = "socket:[" + inode + "]";
    for (Map.Entry<Long, Integer> e : nodePids.entrySet()) {
      if (holds(e.getKey(), link)) {
        return e.getValue();
      }
    }
    return NOT_A_NODE;
  }

  /** The inode of the socket whose local port is {@code localPort} and remote port {@code remotePort}; 0 if none. */
  static long socketInode(int localPort, int remotePort) throws IOException {
    String local = ":" + hexPort(localPort);
    String remote = ":" + hexPort(remotePort);
    for (Path table : SOCKET_TABLES) {
      if (!Files.exists(table)) {
        continue;
      }
      for (String line : Files.readAllLines(table)) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
        String[] f = line.trim().split("\\s+");
        if (f.length > 9 && f[1].endsWith(local) && f[2].endsWith(remote)) {
          return Long.parseLong(f[9]);
        }
      }
    }
    return 0;
  }

  private static String hexPort(int port) {
    return String.format(Locale.ROOT, "%04X", port);
  }

  private static boolean holds(long pid, String socketLink) {
    Path fds = Path.of("/proc", Long.toString(pid), "fd");
    try (DirectoryStream<Path> files = Files.newDirectoryStream(fds)) {
      for (Path fd : files) {
        try {
          if (socketLink.equals(Files.readSymbolicLink(fd).toString())) {
            return true;
          }
        } catch (IOException closedMeanwhile) {
          // the descriptor went away while we looked
        }
      }
    } catch (IOException processGone) {
      return false;
    }
    return false;
  }
}
