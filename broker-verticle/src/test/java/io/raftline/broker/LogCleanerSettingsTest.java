package io.raftline.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The log.cleaner.* settings a broker is given, and which min.cleanable.dirty.ratio a compacted topic
 * is cleaned by: its own, else the cluster-wide dynamic default, else the node's.
 */
class LogCleanerSettingsTest {

  private static void assertRefused(String key, Runnable build) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::run);
    assertTrue(e.getMessage().contains(key), "the message names " + key + ": " + e.getMessage());
  }

  @Test
  void theDefaultsAreKafkas() {
    BrokerConfig.Cleaner d = BrokerConfig.Cleaner.DEFAULT;
    assertEquals(new BrokerConfig.Cleaner(true, 1, 134_217_728L, 0.5, 15_000), d);
    assertEquals(134_217_728L, d.mapBytesPerPass());
    assertEquals(1L << 20, new BrokerConfig.Cleaner(true, 4, 4L << 20, 0.5, 1).mapBytesPerPass(),
        "the buffer is shared by the threads");
  }

  @Test
  void badValuesAreRefusedNamingTheSetting() {
    assertRefused("log.cleaner.threads", () -> new BrokerConfig.Cleaner(true, 0, 1L << 30, 0.5, 15_000));
    assertRefused("log.cleaner.dedupe.buffer.size", () -> new BrokerConfig.Cleaner(true, 1, (1L << 20) - 1, 0.5, 15_000));
    assertRefused("log.cleaner.dedupe.buffer.size", () -> new BrokerConfig.Cleaner(true, 4, 3L << 20, 0.5, 15_000));
    assertRefused("log.cleaner.dedupe.buffer.size", () -> new BrokerConfig.Cleaner(true, 1, -1, 0.5, 15_000));
    assertRefused("log.cleaner.min.cleanable.ratio", () -> new BrokerConfig.Cleaner(true, 1, 1L << 20, -0.1, 15_000));
    assertRefused("log.cleaner.min.cleanable.ratio", () -> new BrokerConfig.Cleaner(true, 1, 1L << 20, 1.5, 15_000));
    assertRefused("log.cleaner.min.cleanable.ratio",
        () -> new BrokerConfig.Cleaner(true, 1, 1L << 20, Double.NaN, 15_000));
    assertRefused("log.cleaner.backoff.ms", () -> new BrokerConfig.Cleaner(true, 1, 1L << 20, 0.5, 0));
  }

  @Test
  void aTopicsRatioOverridesTheClusterDefaultWhichOverridesTheNodes() {
    BrokerConfig.Cleaner node = new BrokerConfig.Cleaner(true, 1, 1L << 20, 0.3, 15_000);
    Map<String, String> cluster = Map.of("log.cleaner.min.cleanable.ratio", "0.7");
    assertEquals(0.3, BrokerVerticle.minCleanableDirtyRatio(Map.of(), Map.of(), node));
    assertEquals(0.7, BrokerVerticle.minCleanableDirtyRatio(Map.of(), cluster, node));
    assertEquals(0.9, BrokerVerticle.minCleanableDirtyRatio(Map.of("min.cleanable.dirty.ratio", "0.9"), cluster, node));
    assertEquals(0.0, BrokerVerticle.minCleanableDirtyRatio(Map.of("min.cleanable.dirty.ratio", "0"), cluster, node));
    // Only an old record could hold a bad value (the controller refuses them): the node's setting holds.
    assertEquals(0.3, BrokerVerticle.minCleanableDirtyRatio(Map.of("min.cleanable.dirty.ratio", "2"), cluster, node));
  }
}
