package io.raftline.deploy;

import io.raftline.metadata.QuorumVoter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * A node's configuration, read from Kafka-style properties with Kafka's names and defaults. Every
 * key is known here with its type and range; an unknown key or a bad value is refused with a message
 * naming the key and what it allows.
 */
public final class NodeConfig {
  /** A listener from {@code listeners}: {@code NAME://host:port}. */
  public record Listener(String name, String host, int port) {}

  private record Key(String name, String defaultValue, String doc) {}

  /** Loopback by default: metrics and health are for a local scraper or probe until an operator opens them. */
  public static final String DEFAULT_HTTP_LISTENER = "127.0.0.1:9644";
  private static final long MIN_DEDUPE_BUFFER_BYTES_PER_THREAD =
      io.raftline.broker.BrokerConfig.Cleaner.MIN_DEDUPE_BUFFER_BYTES_PER_THREAD;

  private static final Map<String, Key> KEYS = new LinkedHashMap<>();

  private static void key(String name, String defaultValue, String doc) {
    KEYS.put(name, new Key(name, defaultValue, doc));
  }

  static {
    key("process.roles", null, "broker, controller, or broker,controller");
    key("node.id", null, "this node's id, an integer >= 0, unique in the cluster");
    key("controller.quorum.voters", null, "the controller quorum: id@host:port[,id@host:port...]");
    key("listeners", null, "NAME://host:port[,NAME://host:port...]; port 0 picks a free port");
    key("advertised.listeners", null, "NAME://host:port of the broker listener as clients and other brokers "
        + "should reach it (behind NAT, a proxy or a load balancer); default: the bound address of listeners");
    key("controller.listener.names", "CONTROLLER", "the listener name(s) controllers serve on");
    key("log.dirs", null, "comma-separated directories for partition data");
    key("log.dir", null, "one directory for partition data (log.dirs takes precedence)");
    key("metadata.log.dir", null, "directory for the metadata log; default: the first of log.dirs");
    key("num.partitions", "1", "partitions of a topic created without a count (>= 1)");
    key("default.replication.factor", "1", "replication factor of a topic created without one (>= 1)");
    key("message.max.bytes", "1048588", "the largest record batch a broker accepts, in bytes (>= 1)");
    key("broker.rack", "", "this broker's rack, for replica placement");
    key("controller.quorum.election.timeout.ms", "1000", "Raft election timeout (>= 10)");
    key("controller.quorum.fetch.timeout.ms", "2000", "Raft fetch timeout (>= 10)");
    key("broker.session.timeout.ms", "9000", "a broker silent this long is fenced (>= 10)");
    key("log.retention.check.interval.ms", "300000", "how often retention runs (>= 1)");
    key("log.cleaner.enable", "true", "whether the log cleaner compacts cleanup.policy=compact topics (true or false)");
    key("log.cleaner.threads", "1", "cleaning passes that may run at once (>= 1)");
    key("log.cleaner.dedupe.buffer.size", "134217728", "memory of the cleaner's key maps, shared by its threads "
        + "(>= 1048576 per thread); a segment with more keys than a thread's map holds is not cleaned");
    key("log.cleaner.min.cleanable.ratio", "0.5", "clean a compacted log once this share of its bytes is dirty "
        + "(0 to 1); a topic's min.cleanable.dirty.ratio overrides it");
    key("log.cleaner.backoff.ms", "15000", "how often the log cleaner looks for logs to clean (>= 1)");
    key("log.flush.interval.messages", Long.toString(Long.MAX_VALUE), "fsync a partition's log after this many "
        + "messages since its last flush (>= 1; " + Long.MAX_VALUE + ": off, durability comes from replication); "
        + "a topic's flush.messages overrides it");
    key("log.flush.interval.ms", Long.toString(Long.MAX_VALUE), "fsync a partition's log once its oldest unflushed "
        + "append is this old (>= 0; " + Long.MAX_VALUE + ": off); a topic's flush.ms overrides it");
    key("replica.high.watermark.checkpoint.interval.ms", "5000", "how often changed high watermarks are written "
        + "to each log dir's replication-offset-checkpoint (>= 1)");
    key("broker.heartbeat.interval.ms", "2000", "how often a broker heartbeats to the controller (>= 10)");
    key("replica.lag.time.max.ms", "30000", "a follower not caught up for this long leaves the ISR (>= 10)");
    key("replica.fetch.wait.max.ms", "500", "how long a follower's fetch waits at the leader for records (>= 0, <= replica.lag.time.max.ms)");
    key("replica.fetch.max.bytes", "1048576", "bytes per partition a follower fetches at once (>= 1)");
    key("max.incremental.fetch.session.cache.slots", "1000", "incremental fetch sessions (KIP-227) a broker keeps "
        + "for the followers and other fetchers reading from it (>= 0; 0: every fetch names all its partitions)");
    key("offsets.topic.num.partitions", "50", "partitions of __consumer_offsets, where groups commit (>= 1)");
    key("offsets.topic.replication.factor", "3", "replication factor of __consumer_offsets, lowered to the "
        + "available brokers when it is created (>= 1)");
    key("metadata.log.max.record.bytes.between.snapshots", "20971520",
        "snapshot the metadata image after this many bytes of records (>= 1)");
    key("metadata.log.max.snapshot.interval.ms", "3600000",
        "snapshot the metadata image at least this often while it changes (>= 1)");
    key("http.listener", DEFAULT_HTTP_LISTENER, "host:port of the HTTP listener serving /metrics, /health/live and "
        + "/health/ready; port 0 picks a free port; 'none' disables it");
  }

  private final Map<String, String> values;
  private final Set<String> roles;
  private final int nodeId;
  private final List<QuorumVoter> voters;
  private final List<Listener> listeners;
  private final Listener advertisedBrokerListener;
  private final List<Path> logDirs;
  private final Listener httpListener;

  private NodeConfig(Map<String, String> values) {
    this.values = values;
    this.roles = parseRoles(required("process.roles"));
    this.nodeId = intValue("node.id", 0, Integer.MAX_VALUE);
    try {
      this.voters = QuorumVoter.parseList(required("controller.quorum.voters"));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("controller.quorum.voters: " + e.getMessage());
    }
    this.listeners = parseListeners(required("listeners"));
    this.advertisedBrokerListener = parseAdvertised(values.get("advertised.listeners"));
    this.logDirs = parseLogDirs();
    this.httpListener = parseHttpListener(required("http.listener"));
    intValue("num.partitions", 1, 1_000_000);
    intValue("default.replication.factor", 1, Short.MAX_VALUE);
    intValue("message.max.bytes", 1, Integer.MAX_VALUE);
    intValue("controller.quorum.election.timeout.ms", 10, Integer.MAX_VALUE);
    intValue("controller.quorum.fetch.timeout.ms", 10, Integer.MAX_VALUE);
    intValue("broker.session.timeout.ms", 10, Integer.MAX_VALUE);
    intValue("log.retention.check.interval.ms", 1, Integer.MAX_VALUE);
    booleanValue("log.cleaner.enable");
    int cleanerThreads = intValue("log.cleaner.threads", 1, Integer.MAX_VALUE);
    long dedupeBytes = longValue("log.cleaner.dedupe.buffer.size", 1, Long.MAX_VALUE);
    if (dedupeBytes / cleanerThreads < MIN_DEDUPE_BUFFER_BYTES_PER_THREAD) {
      throw new ConfigException("log.cleaner.dedupe.buffer.size must be at least " + MIN_DEDUPE_BUFFER_BYTES_PER_THREAD
          + " bytes per cleaner thread (log.cleaner.threads=" + cleanerThreads + ", so at least "
          + MIN_DEDUPE_BUFFER_BYTES_PER_THREAD * cleanerThreads + "); got " + dedupeBytes);
    }
    doubleValue("log.cleaner.min.cleanable.ratio", 0, 1);
    longValue("log.cleaner.backoff.ms", 1, Long.MAX_VALUE);
    intValue("broker.heartbeat.interval.ms", 10, Integer.MAX_VALUE);
    longValue("log.flush.interval.messages", 1, Long.MAX_VALUE);
    longValue("log.flush.interval.ms", 0, Long.MAX_VALUE);
    longValue("replica.high.watermark.checkpoint.interval.ms", 1, Integer.MAX_VALUE);
    intValue("replica.lag.time.max.ms", 10, Integer.MAX_VALUE);
    intValue("replica.fetch.wait.max.ms", 0, Integer.MAX_VALUE);
    intValue("replica.fetch.max.bytes", 1, Integer.MAX_VALUE);
    intValue("max.incremental.fetch.session.cache.slots", 0, Integer.MAX_VALUE);
    intValue("offsets.topic.num.partitions", 1, 100_000);
    intValue("offsets.topic.replication.factor", 1, Short.MAX_VALUE);
    intValue("metadata.log.max.record.bytes.between.snapshots", 1, Integer.MAX_VALUE);
    intValue("metadata.log.max.snapshot.interval.ms", 1, Integer.MAX_VALUE);
    if (intSetting("broker.heartbeat.interval.ms") >= intSetting("broker.session.timeout.ms")) {
      throw new ConfigException("broker.heartbeat.interval.ms (" + intSetting("broker.heartbeat.interval.ms")
          + ") must be below broker.session.timeout.ms (" + intSetting("broker.session.timeout.ms") + ")");
    }
    // As Kafka requires: a follower's fetch parked at the leader for longer than the lag time would
    // count as lagging while it waits.
    if (intSetting("replica.fetch.wait.max.ms") > intSetting("replica.lag.time.max.ms")) {
      throw new ConfigException("replica.fetch.wait.max.ms (" + intSetting("replica.fetch.wait.max.ms")
          + ") must not be above replica.lag.time.max.ms (" + intSetting("replica.lag.time.max.ms") + ")");
    }
    checkRoles();
  }

  /** Reads properties; every value is trimmed. */
  public static NodeConfig from(Properties properties) {
    Map<String, String> values = new LinkedHashMap<>();
    KEYS.values().forEach(k -> {
      if (k.defaultValue != null) {
        values.put(k.name, k.defaultValue);
      }
    });
    for (String name : properties.stringPropertyNames()) {
      if (!KEYS.containsKey(name)) {
        throw new ConfigException("unknown configuration key '" + name + "'; known keys: " + String.join(", ", KEYS.keySet()));
      }
      values.put(name, properties.getProperty(name).trim());
    }
    return new NodeConfig(values);
  }

  /** The settings of a development node: one combined node on 127.0.0.1:9092/9093 with data in ./data. */
  public static Properties devDefaults() {
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@127.0.0.1:9093");
    p.setProperty("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
    p.setProperty("controller.listener.names", "CONTROLLER");
    p.setProperty("log.dirs", "./data");
    return p;
  }

  /** The documented keys with their defaults and meaning, for {@code --help} and the README. */
  public static String describeKeys() {
    StringBuilder b = new StringBuilder();
    KEYS.values().forEach(k -> b.append(String.format("  %-40s %s (default: %s)%n", k.name, k.doc,
        k.defaultValue == null ? "none" : k.defaultValue.isEmpty() ? "empty" : k.defaultValue)));
    return b.toString();
  }

  private String required(String key) {
    String v = values.get(key);
    if (v == null || v.isEmpty()) {
      throw new ConfigException("missing required configuration key '" + key + "' (" + KEYS.get(key).doc + ")");
    }
    return v;
  }

  private boolean booleanValue(String key) {
    String v = required(key);
    if (!v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
      throw new ConfigException(key + " must be true or false; got '" + v + "'");
    }
    return Boolean.parseBoolean(v);
  }

  private double doubleValue(String key, double min, double max) {
    String v = required(key);
    double parsed;
    try {
      parsed = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new ConfigException(key + " must be a number between " + min + " and " + max + "; got '" + v + "'");
    }
    // Written so that NaN is refused too.
    if (!(parsed >= min && parsed <= max)) {
      throw new ConfigException(key + " must be between " + min + " and " + max + "; got " + v);
    }
    return parsed;
  }

  private int intValue(String key, int min, int max) {
    return (int) longValue(key, min, max);
  }

  private long longValue(String key, long min, long max) {
    String v = required(key);
    long parsed;
    try {
      parsed = Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new ConfigException(key + " must be an integer between " + min + " and " + max + "; got '" + v + "'");
    }
    if (parsed < min || parsed > max) {
      throw new ConfigException(key + " must be between " + min + " and " + max + "; got " + parsed);
    }
    return parsed;
  }

  private static Set<String> parseRoles(String value) {
    Set<String> roles = new LinkedHashSet<>();
    for (String r : value.split(",")) {
      String role = r.trim();
      if (!role.equals("broker") && !role.equals("controller")) {
        throw new ConfigException("process.roles: '" + role + "' is not a role; allowed: broker, controller, broker,controller");
      }
      roles.add(role);
    }
    return roles;
  }

  /**
   * The broker listener's advertised address, or null. Only the broker listener is advertised: the
   * controllers' addresses are what controller.quorum.voters says.
   */
  private Listener parseAdvertised(String value) {
    if (value == null || value.isEmpty()) {
      return null;
    }
    List<Listener> advertised;
    try {
      advertised = parseListeners(value);
    } catch (ConfigException e) {
      throw new ConfigException(e.getMessage().replaceFirst("^listeners", "advertised.listeners"));
    }
    Listener served = brokerListener();
    if (served == null || advertised.size() != 1 || !advertised.get(0).name().equals(served.name())) {
      throw new ConfigException("advertised.listeners: name exactly the broker listener of listeners ("
          + (served == null ? "this node has none" : served.name()) + "), got '" + value + "'");
    }
    Listener l = advertised.get(0);
    if (l.port() == 0 || l.host().isEmpty() || l.host().equals("0.0.0.0") || l.host().equals("::")) {
      throw new ConfigException("advertised.listeners: " + l.name() + "://" + l.host() + ":" + l.port()
          + " must name a host others can connect to and a port other than 0");
    }
    return l;
  }

  private static List<Listener> parseListeners(String value) {
    List<Listener> out = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>();
    for (String raw : value.split(",")) {
      String l = raw.trim();
      int sep = l.indexOf("://");
      int colon = l.lastIndexOf(':');
      if (sep <= 0 || colon <= sep + 2 || colon == l.length() - 1) {
        throw new ConfigException("listeners: '" + l + "' is not of the form NAME://host:port");
      }
      int port;
      try {
        port = Integer.parseInt(l.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new ConfigException("listeners: the port in '" + l + "' is not a number");
      }
      if (port < 0 || port > 65535) {
        throw new ConfigException("listeners: the port in '" + l + "' must be between 0 and 65535");
      }
      String name = l.substring(0, sep);
      if (!names.add(name)) {
        throw new ConfigException("listeners: the name " + name + " appears twice");
      }
      out.add(new Listener(name, l.substring(sep + 3, colon), port));
    }
    return List.copyOf(out);
  }

  /** {@code host:port} ({@code [v6]:port} too), or {@code none}; the result is named HTTP, or null when disabled. */
  private static Listener parseHttpListener(String value) {
    if (value.equalsIgnoreCase("none")) {
      return null;
    }
    String allowed = "; allowed: host:port (port 0 picks a free port) or none";
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new ConfigException("http.listener: '" + value + "' is not of the form host:port" + allowed);
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.contains(":")) {
      // Without brackets an IPv6 address cannot be told apart from its port.
      throw new ConfigException("http.listener: write an IPv6 address in brackets, e.g. [::1]:9644; got '" + value + "'");
    }
    if (host.isBlank()) {
      throw new ConfigException("http.listener: '" + value + "' has no host" + allowed);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ConfigException("http.listener: the port in '" + value + "' is not a number" + allowed);
    }
    if (port < 0 || port > 65535) {
      throw new ConfigException("http.listener: the port in '" + value + "' must be between 0 and 65535");
    }
    return new Listener("HTTP", host, port);
  }

  private List<Path> parseLogDirs() {
    String key = "log.dirs";
    String v = values.get(key);
    if (v == null || v.isBlank()) {
      key = "log.dir";
      v = values.get(key);
    }
    if (v == null || v.isBlank()) {
      throw new ConfigException("missing required configuration key 'log.dirs' (comma-separated data directories)");
    }
    List<Path> dirs = new ArrayList<>();
    for (String d : v.split(",")) {
      if (!d.isBlank()) {
        dirs.add(Path.of(d.trim()));
      }
    }
    if (dirs.isEmpty()) {
      throw new ConfigException(key + " must name at least one directory; got '" + v + "'");
    }
    return List.copyOf(dirs);
  }

  private void checkRoles() {
    boolean voter = voters.stream().anyMatch(v -> v.id() == nodeId);
    if (isController() && !voter) {
      throw new ConfigException("node.id " + nodeId + " has the controller role but is not in controller.quorum.voters ("
          + values.get("controller.quorum.voters") + ")");
    }
    if (!isController() && voter) {
      throw new ConfigException("node.id " + nodeId + " is in controller.quorum.voters but process.roles ("
          + values.get("process.roles") + ") lacks controller");
    }
    if (isController() && controllerListener() == null) {
      throw new ConfigException("listeners has no listener named in controller.listener.names ("
          + values.get("controller.listener.names") + ")");
    }
    if (isBroker() && brokerListener() == null) {
      throw new ConfigException("listeners has no broker listener (one whose name is not in controller.listener.names)");
    }
  }

  public boolean isBroker() {
    return roles.contains("broker");
  }

  public boolean isController() {
    return roles.contains("controller");
  }

  public int nodeId() {
    return nodeId;
  }

  public List<QuorumVoter> voters() {
    return voters;
  }

  private Set<String> controllerListenerNames() {
    Set<String> names = new LinkedHashSet<>();
    for (String n : values.get("controller.listener.names").split(",")) {
      names.add(n.trim());
    }
    return names;
  }

  /** The controller's listener, or null. */
  public Listener controllerListener() {
    Set<String> names = controllerListenerNames();
    return listeners.stream().filter(l -> names.contains(l.name())).findFirst().orElse(null);
  }

  /** The client-facing broker listener (the first not named a controller listener), or null. */
  public Listener brokerListener() {
    Set<String> names = controllerListenerNames();
    return listeners.stream().filter(l -> !names.contains(l.name())).findFirst().orElse(null);
  }

  /**
   * Where clients and other brokers reach the broker listener, when {@code advertised.listeners}
   * says so; null means the bound address of {@link #brokerListener()}.
   */
  public Listener advertisedBrokerListener() {
    return advertisedBrokerListener;
  }

  /** The HTTP listener for metrics and health (named HTTP), or null when {@code http.listener=none}. */
  public Listener httpListener() {
    return httpListener;
  }

  public List<Path> logDirs() {
    return logDirs;
  }

  public Path metadataLogDir() {
    String v = values.get("metadata.log.dir");
    return v == null || v.isBlank() ? logDirs.get(0) : Path.of(v);
  }

  /** Every directory that must be formatted: the log dirs and the metadata log dir. */
  public List<Path> allDirs() {
    Set<Path> dirs = new LinkedHashSet<>(logDirs);
    dirs.add(metadataLogDir());
    return List.copyOf(dirs);
  }

  public int intSetting(String key) {
    return Integer.parseInt(values.get(key));
  }

  public long longSetting(String key) {
    return Long.parseLong(values.get(key));
  }

  public boolean booleanSetting(String key) {
    return Boolean.parseBoolean(values.get(key));
  }

  public double doubleSetting(String key) {
    return Double.parseDouble(values.get(key));
  }

  public String stringSetting(String key) {
    return values.getOrDefault(key, "");
  }
}
