package io.raftline.metadata;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The topic-level configuration keys Raftline knows, with Kafka's names, defaults and allowed values.
 * The controller refuses unknown keys and bad values with a message saying what is allowed, so a typo
 * never silently becomes a default.
 */
public final class TopicConfigs {
  /** One key: its default and how to check a value. */
  public record Key(String name, String defaultValue, String allowed, Validator validator, String doc) {}

  /** Why a value is not allowed, or empty. */
  @FunctionalInterface
  public interface Validator {
    Optional<String> problem(String value);
  }

  private static final Map<String, Key> KEYS = new LinkedHashMap<>();

  private static void key(String name, String defaultValue, String allowed, Validator validator, String doc) {
    KEYS.put(name, new Key(name, defaultValue, allowed, validator, doc));
  }

  static {
    key("cleanup.policy", "delete", "delete, compact, or compact,delete", TopicConfigs::cleanupPolicy,
        "delete old segments, keep the latest record per key, or both");
    key("retention.ms", "604800000", "a long >= -1 (-1: no time limit)", v -> longAtLeast(v, -1),
        "how long records are kept");
    key("retention.bytes", "-1", "a long >= -1 (-1: no size limit)", v -> longAtLeast(v, -1),
        "how large a partition may grow before old segments go");
    key("segment.bytes", "1073741824", "an int >= 14", v -> intAtLeast(v, 14), "the size of a log segment");
    key("segment.ms", "604800000", "a long >= 1", v -> longAtLeast(v, 1), "the age at which a segment rolls");
    key("min.insync.replicas", "1", "an int >= 1", v -> intAtLeast(v, 1),
        "in-sync replicas an acks=all write needs");
    key("max.message.bytes", "1048588", "an int >= 0", v -> intAtLeast(v, 0), "the largest record batch accepted");
    key("delete.retention.ms", "86400000", "a long >= 0", v -> longAtLeast(v, 0),
        "how long tombstones stay in a compacted topic");
    key("min.cleanable.dirty.ratio", "0.5", "a number from 0 to 1", TopicConfigs::ratio,
        "clean a compacted log once this share of its closed segments' bytes is dirty (never cleaned)");
    key("unclean.leader.election.enable", "false", "true or false", TopicConfigs::bool,
        "whether an out-of-sync replica may become leader");
    key("flush.messages", Long.toString(Long.MAX_VALUE), "a long >= 1 (" + Long.MAX_VALUE + ": off)",
        v -> longAtLeast(v, 1), "fsync a partition's log after this many messages since its last flush");
    key("flush.ms", Long.toString(Long.MAX_VALUE), "a long >= 0 (" + Long.MAX_VALUE + ": off)",
        v -> longAtLeast(v, 0), "fsync a partition's log once its oldest unflushed append is this old");
    key("message.timestamp.type", "CreateTime", "CreateTime or LogAppendTime", TopicConfigs::timestampType,
        "which timestamp records carry");
  }

  /**
   * Broker-level names of the topic configs that can be set cluster-wide (the BROKER resource with an
   * empty name), as in Kafka, mapped to the topic config each one defaults.
   */
  public static final Map<String, String> BROKER_DEFAULT_NAMES = Map.of(
      "log.cleanup.policy", "cleanup.policy", "log.retention.ms", "retention.ms",
      "log.retention.bytes", "retention.bytes", "log.segment.bytes", "segment.bytes",
      "min.insync.replicas", "min.insync.replicas", "message.max.bytes", "max.message.bytes",
      "log.flush.interval.messages", "flush.messages", "log.flush.interval.ms", "flush.ms",
      "log.cleaner.min.cleanable.ratio", "min.cleanable.dirty.ratio");

  private TopicConfigs() {}

  /**
   * A topic config's value in force: set on the topic, else the cluster-wide broker default (under its
   * broker-level name), else Raftline's default.
   */
  public static String effective(Map<String, String> topicConfigs, Map<String, String> clusterDefaults, String key) {
    String set = topicConfigs.get(key);
    if (set != null) {
      return set;
    }
    for (Map.Entry<String, String> e : BROKER_DEFAULT_NAMES.entrySet()) {
      if (e.getValue().equals(key) && clusterDefaults.containsKey(e.getKey())) {
        return clusterDefaults.get(e.getKey());
      }
    }
    Key k = KEYS.get(key);
    if (k == null) {
      throw new IllegalArgumentException("unknown topic config " + key);
    }
    return k.defaultValue();
  }

  public static Map<String, Key> keys() {
    return java.util.Collections.unmodifiableMap(KEYS);
  }

  /** Why {@code name=value} is not a valid topic config, or empty if it is. */
  public static Optional<String> problem(String name, String value) {
    Key key = KEYS.get(name);
    if (key == null) {
      return Optional.of("unknown topic config '" + name + "'; known: " + String.join(", ", KEYS.keySet()));
    }
    if (value == null) {
      return Optional.of(name + " needs a value (" + key.allowed() + ")");
    }
    return key.validator().problem(value.trim()).map(p -> name + "=" + value + ": " + p + "; allowed: " + key.allowed());
  }

  private static Optional<String> longAtLeast(String v, long min) {
    try {
      return Long.parseLong(v) >= min ? Optional.empty() : Optional.of("below " + min);
    } catch (NumberFormatException e) {
      return Optional.of("not a whole number");
    }
  }

  private static Optional<String> intAtLeast(String v, int min) {
    try {
      return Integer.parseInt(v) >= min ? Optional.empty() : Optional.of("below " + min);
    } catch (NumberFormatException e) {
      return Optional.of("not a whole number in int range");
    }
  }

  private static Optional<String> ratio(String v) {
    try {
      double d = Double.parseDouble(v);
      // Written so that NaN is refused too.
      return d >= 0 && d <= 1 ? Optional.empty() : Optional.of("not between 0 and 1");
    } catch (NumberFormatException e) {
      return Optional.of("not a number");
    }
  }

  private static Optional<String> bool(String v) {
    String l = v.toLowerCase(Locale.ROOT);
    return l.equals("true") || l.equals("false") ? Optional.empty() : Optional.of("not a boolean");
  }

  private static Optional<String> cleanupPolicy(String v) {
    for (String part : v.split(",")) {
      String p = part.trim();
      if (!p.equals("delete") && !p.equals("compact")) {
        return Optional.of("'" + p + "' is not a cleanup policy");
      }
    }
    return Optional.empty();
  }

  private static Optional<String> timestampType(String v) {
    return v.equals("CreateTime") || v.equals("LogAppendTime") ? Optional.empty() : Optional.of("unknown type");
  }
}
