package io.raftline.deploy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Base64;
import java.util.Properties;
import java.util.UUID;

/**
 * Formatting and checking of a node's directories. Each formatted directory holds
 * {@code meta.properties} with the cluster id and node id, so a node never starts on data of another
 * cluster or another node, and a configured node never silently starts on empty directories.
 */
public final class Storage {
  public static final String META_PROPERTIES = "meta.properties";

  private Storage() {}

  /** A new cluster id: a random UUID in URL-safe base64 (22 characters), as Kafka makes them. */
  public static String randomClusterId() {
    UUID u = UUID.randomUUID();
    ByteBuffer b = ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
  }

  static void checkClusterId(String clusterId) {
    byte[] decoded;
    try {
      decoded = Base64.getUrlDecoder().decode(clusterId);
    } catch (IllegalArgumentException e) {
      decoded = new byte[0];
    }
    if (clusterId.length() != 22 || decoded.length != 16) {
      throw new ConfigException("cluster id '" + clusterId
          + "' is not a 22-character URL-safe base64 UUID; make one with 'raftline storage random-uuid'");
    }
  }

  /**
   * Writes {@code meta.properties} into every directory of the node.
   *
   * @param ignoreFormatted skip directories that are already formatted instead of refusing
   * @return how many directories were formatted
   */
  public static int format(NodeConfig config, String clusterId, boolean ignoreFormatted) throws IOException {
    return format(config, clusterId, ignoreFormatted, dir -> { });
  }

  /** As {@link #format(NodeConfig, String, boolean)}, telling {@code progress} each directory before it is written. */
  public static int format(NodeConfig config, String clusterId, boolean ignoreFormatted,
      java.util.function.Consumer<Path> progress) throws IOException {
    checkClusterId(clusterId);
    // Check every directory before writing any, so a refused format leaves nothing half done.
    java.util.List<Path> toFormat = new java.util.ArrayList<>();
    for (Path dir : config.allDirs()) {
      Path meta = dir.resolve(META_PROPERTIES);
      if (!Files.exists(meta)) {
        toFormat.add(dir);
      } else if (!ignoreFormatted) {
        throw new ConfigException("log directory " + dir + " is already formatted (" + meta
            + " exists); use --ignore-formatted to leave formatted directories as they are");
      }
    }
    int formatted = 0;
    for (Path dir : toFormat) {
      progress.accept(dir);
      Files.createDirectories(dir);
      Properties p = new Properties();
      p.setProperty("version", "1");
      p.setProperty("cluster.id", clusterId);
      p.setProperty("node.id", Integer.toString(config.nodeId()));
      Path tmp = dir.resolve(META_PROPERTIES + ".tmp");
      try (OutputStream out = Files.newOutputStream(tmp)) {
        p.store(out, "Raftline storage; do not edit");
      }
      Files.move(tmp, dir.resolve(META_PROPERTIES), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      formatted++;
    }
    return formatted;
  }

  /** True if every directory of the node has been formatted. */
  public static boolean isFormatted(NodeConfig config) {
    return config.allDirs().stream().allMatch(d -> Files.exists(d.resolve(META_PROPERTIES)));
  }

  /**
   * Checks every directory belongs to this node and one cluster.
   *
   * @return the cluster id
   * @throws ConfigException naming the directory that is unformatted or belongs elsewhere
   */
  public static String check(NodeConfig config) throws IOException {
    String clusterId = null;
    for (Path dir : config.allDirs()) {
      Path meta = dir.resolve(META_PROPERTIES);
      if (!Files.exists(meta)) {
        throw new ConfigException("log directory " + dir + " is not formatted; run: raftline storage format"
            + " --config <file> --cluster-id $(raftline storage random-uuid)");
      }
      Properties p = new Properties();
      try (InputStream in = Files.newInputStream(meta)) {
        p.load(in);
      }
      String id = p.getProperty("cluster.id", "");
      String node = p.getProperty("node.id", "");
      try {
        checkClusterId(id);
      } catch (ConfigException e) {
        throw new ConfigException(meta + " has no valid cluster.id ('" + id + "'); the directory needs formatting again");
      }
      if (!node.equals(Integer.toString(config.nodeId()))) {
        throw new ConfigException(meta + " belongs to node.id " + node + ", but this node is " + config.nodeId());
      }
      if (clusterId != null && !clusterId.equals(id)) {
        throw new ConfigException(meta + " belongs to cluster " + id + ", but other directories belong to " + clusterId);
      }
      clusterId = id;
    }
    return clusterId;
  }
}
