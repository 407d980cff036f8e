package io.raftline.client;

import io.raftline.protocol.records.CompressionType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Client settings, named as in Kafka's clients. Unknown keys and invalid values fail at creation with
 * the key named, so a typo never silently falls back to a default.
 */
public final class ClientConfig {
  /** A broker address from {@code bootstrap.servers}. */
  public record HostPort(String host, int port) {
    @Override
    public String toString() {
      return host + ":" + port;
    }
  }

  private record Setting(String key, String defaultValue, String doc) {}

  private static final Map<String, Setting> SETTINGS = new LinkedHashMap<>();

  private static void define(String key, String defaultValue, String doc) {
    SETTINGS.put(key, new Setting(key, defaultValue, doc));
  }

  static {
    define("bootstrap.servers", null, "host:port[,host:port...] of brokers to start from");
    define("client.id", "", "a name for this client in broker logs");
    define("acks", "all", "0, 1, all (or -1): how many replicas must have a record before it is acknowledged");
    // Larger than Kafka's 16 KiB: this producer keeps one request in flight per partition (Kafka
    // allows five), so each request carries more, and with acks=all each waits for a replication round
    // trip too; 1 MiB still fits the broker's message.max.bytes (1048588). Measured (raftline perf
    // produce, 6 partitions, 1 KiB records, acks=all): 1 node 49 MB/s at 16 KiB, 89 at 256 KiB; 3 nodes
    // RF 3 61 MB/s at 256 KiB, 76-92 at 1 MiB.
    define("batch.size", "1048576", "the most bytes of records sent for one partition in one request");
    define("enable.idempotence", "true", "true or false: the broker drops retried duplicates and refuses gaps in each "
        + "partition's sequence, so retries never duplicate or reorder records (needs acks=all; with another acks "
        + "and this left unset, it is off)");
    define("linger.ms", "5", "how long to wait for more records before sending a batch that is not full");
    define("compression.type", "none",
        "none, gzip, snappy, lz4 or zstd: the codec of each produced batch (consumers decode every codec)");
    define("max.request.size", "1048576", "the largest record (as a batch of one) the producer accepts");
    define("buffer.memory", "33554432", "the most bytes of records a producer holds before they are acknowledged; a "
        + "send beyond it waits for room (up to max.block.ms), and the Flowable face stops requesting from upstream");
    define("max.block.ms", "60000", "how long a send waits for room under buffer.memory before it fails");
    define("request.timeout.ms", "30000", "how long to wait for one request's answer");
    define("delivery.timeout.ms", "120000", "how long a send may take, retries included");
    define("retry.backoff.ms", "100", "pause before retrying a failed request");
    define("fetch.min.bytes", "1", "the least data a fetch waits for");
    define("fetch.max.wait.ms", "500", "the longest a fetch waits for fetch.min.bytes");
    define("fetch.max.bytes", "52428800", "the most data one fetch returns");
    define("max.partition.fetch.bytes", "1048576", "the most data one fetch returns per partition");
    define("max.poll.records", "500", "the most records a consumer buffers ahead of its subscriber");
    define("metadata.max.age.ms", "300000", "how long cached topic metadata is used before it is fetched again");
    define("auto.offset.reset", "latest", "earliest or latest: where to start without a stored position");
    define("group.id", "", "the consumer group of RaftlineClient.subscribe(topics)");
    define("enable.auto.commit", "true", "true or false: a group consumer commits its position every "
        + "auto.commit.interval.ms, before giving up partitions and when closed");
    define("auto.commit.interval.ms", "5000", "how often a group consumer commits when enable.auto.commit is true");
    define("session.timeout.ms", "45000", "how long the group coordinator keeps a member whose heartbeats stopped "
        + "(bounded by the coordinator)");
    define("group.remote.assignor", "uniform", "uniform or range: the server-side assignor this group member "
        + "prefers (the group uses the one most of its members prefer): uniform shares each topic's partitions evenly "
        + "and moves as few as it can when members come and go; range gives members consecutive partitions, the same "
        + "numbers of equally partitioned topics");
    define("max.poll.interval.ms", "300000", "how long a group member may take to give up partitions it must "
        + "revoke (its rebalance timeout) before the coordinator removes it");
  }

  private final Map<String, String> values;
  private final List<HostPort> bootstrapServers;

  private ClientConfig(Map<String, String> values, List<HostPort> bootstrapServers) {
    this.values = values;
    this.bootstrapServers = bootstrapServers;
  }

  /**
   * @throws IllegalArgumentException naming the key that is unknown, missing or invalid
   */
  public static ClientConfig from(Map<String, String> settings) {
    Map<String, String> values = new LinkedHashMap<>();
    SETTINGS.values().forEach(s -> values.put(s.key, s.defaultValue));
    settings.forEach((k, v) -> {
      if (!SETTINGS.containsKey(k)) {
        throw new IllegalArgumentException("unknown client setting '" + k + "'; known settings: " + SETTINGS.keySet());
      }
      if (v == null) {
        throw new IllegalArgumentException("client setting '" + k + "' has no value");
      }
      values.put(k, v.trim());
    });
    String bootstrap = values.get("bootstrap.servers");
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalArgumentException("bootstrap.servers is required (host:port[,host:port...])");
    }
    List<HostPort> servers = new ArrayList<>();
    for (String s : bootstrap.split(",")) {
      servers.add(parseHostPort("bootstrap.servers", s.trim()));
    }
    ClientConfig config = new ClientConfig(values, List.copyOf(servers));
    config.acks();
    config.autoOffsetReset();
    config.compressionType();
    String idempotence = values.get("enable.idempotence").toLowerCase(Locale.ROOT);
    if (!idempotence.equals("true") && !idempotence.equals("false")) {
      throw new IllegalArgumentException("enable.idempotence must be true or false; got '" + idempotence + "'");
    }
    if (settings.containsKey("enable.idempotence") && idempotence.equals("true") && config.acks() != -1) {
      throw new IllegalArgumentException("enable.idempotence=true needs acks=all; got acks=" + values.get("acks"));
    }
    for (String key : List.of("batch.size", "max.request.size", "buffer.memory", "request.timeout.ms",
        "delivery.timeout.ms", "metadata.max.age.ms",
        "fetch.max.bytes", "max.partition.fetch.bytes", "max.poll.records")) {
      config.positiveInt(key);
    }
    for (String key : List.of("linger.ms", "retry.backoff.ms", "fetch.min.bytes", "fetch.max.wait.ms", "max.block.ms")) {
      config.nonNegativeInt(key);
    }
    config.enableAutoCommit();
    config.groupRemoteAssignor();
    for (String key : List.of("auto.commit.interval.ms", "session.timeout.ms", "max.poll.interval.ms")) {
      config.positiveInt(key);
    }
    return config;
  }

  public static HostPort parseHostPort(String key, String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException(key + ": '" + value + "' is not host:port");
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": '" + value + "' has a port that is not a number");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(key + ": port " + port + " is not between 1 and 65535");
    }
    return new HostPort(value.substring(0, colon), port);
  }

  public List<HostPort> bootstrapServers() {
    return bootstrapServers;
  }

  /** True if the producer is idempotent: enable.idempotence is true and acks is all. */
  public boolean idempotence() {
    return values.get("enable.idempotence").equalsIgnoreCase("true") && acks() == -1;
  }

  /** 0, 1 or -1 (all). */
  public int acks() {
    String v = values.get("acks").toLowerCase(Locale.ROOT);
    return switch (v) {
      case "all", "-1" -> -1;
      case "0" -> 0;
      case "1" -> 1;
      default -> throw new IllegalArgumentException("acks must be one of 0, 1, all, -1; got '" + v + "'");
    };
  }

  /** True for earliest, false for latest. */
  public boolean autoOffsetResetEarliest() {
    return autoOffsetReset().equals("earliest");
  }

  private String autoOffsetReset() {
    String v = values.get("auto.offset.reset").toLowerCase(Locale.ROOT);
    if (!v.equals("earliest") && !v.equals("latest")) {
      throw new IllegalArgumentException("auto.offset.reset must be earliest or latest; got '" + v + "'");
    }
    return v;
  }

  /** The producer's codec from {@code compression.type} (Kafka's names: none, gzip, snappy, lz4, zstd). */
  public CompressionType compressionType() {
    String v = values.get("compression.type");
    try {
      return CompressionType.forName(v);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "compression.type must be one of " + CompressionType.ALLOWED_NAMES + "; got '" + v + "'");
    }
  }

  /** {@code client.id}; empty if unset. */
  public String clientId() {
    return values.get("client.id");
  }

  /** {@code group.id}; empty if unset. */
  public String groupId() {
    return values.get("group.id");
  }

  /** {@code group.remote.assignor}: uniform or range. */
  public String groupRemoteAssignor() {
    String v = values.get("group.remote.assignor").toLowerCase(Locale.ROOT);
    if (!v.equals("uniform") && !v.equals("range")) {
      throw new IllegalArgumentException("group.remote.assignor must be uniform or range; got '" + v + "'");
    }
    return v;
  }

  /** {@code enable.auto.commit}. */
  public boolean enableAutoCommit() {
    String v = values.get("enable.auto.commit").toLowerCase(Locale.ROOT);
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException("enable.auto.commit must be true or false; got '" + v + "'");
    }
    return v.equals("true");
  }

  public int positiveInt(String key) {
    int v = intValue(key);
    if (v < 1) {
      throw new IllegalArgumentException(key + " must be at least 1; got " + v);
    }
    return v;
  }

  public int nonNegativeInt(String key) {
    int v = intValue(key);
    if (v < 0) {
      throw new IllegalArgumentException(key + " must not be negative; got " + v);
    }
    return v;
  }

  private int intValue(String key) {
    String v = values.get(key);
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a whole number; got '" + v + "'");
    }
  }
}
