package io.raftline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClientConfigTest {

  private static Map<String, String> with(String... keyValues) {
    Map<String, String> m = new HashMap<>();
    m.put("bootstrap.servers", "localhost:9092");
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put(keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  private static void assertRejectedNaming(String key, Map<String, String> settings) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClientConfig.from(settings));
    assertTrue(e.getMessage().contains(key), "message should name " + key + ": " + e.getMessage());
  }

  @Test
  void missingBootstrapServersIsRefused() {
    assertRejectedNaming("bootstrap.servers", Map.of());
    assertRejectedNaming("bootstrap.servers", Map.of("acks", "1"));
    assertRejectedNaming("bootstrap.servers", Map.of("bootstrap.servers", "   "));
  }

  @Test
  void malformedHostPortIsRefused() {
    for (String bad : List.of("localhost", "localhost:", ":9092", "localhost:abc", "a:1,,b:2", "a:1,b", "host:9092x")) {
      assertRejectedNaming("bootstrap.servers", with("bootstrap.servers", bad));
    }
  }

  @Test
  void portsOutsideOneTo65535AreRefused() {
    for (String bad : List.of("h:0", "h:65536", "h:-1", "h:99999999999")) {
      assertRejectedNaming("bootstrap.servers", with("bootstrap.servers", bad));
    }
    assertEquals(List.of(new ClientConfig.HostPort("h", 1)),
        ClientConfig.from(with("bootstrap.servers", "h:1")).bootstrapServers());
    assertEquals(List.of(new ClientConfig.HostPort("h", 65535)),
        ClientConfig.from(with("bootstrap.servers", "h:65535")).bootstrapServers());
  }

  @Test
  void unknownKeyIsRefusedByName() {
    assertRejectedNaming("bootstrap.server", Map.of("bootstrap.server", "h:1", "bootstrap.servers", "h:1"));
    assertRejectedNaming("lingerms", with("lingerms", "5"));
  }

  @Test
  void acksOutsideTheAllowedValuesIsRefused() {
    for (String bad : List.of("2", "-2", "none", "", "al l")) {
      assertRejectedNaming("acks", with("acks", bad));
    }
  }

  @Test
  void acksValuesParse() {
    assertEquals(-1, ClientConfig.from(with("acks", "all")).acks());
    assertEquals(-1, ClientConfig.from(with("acks", "ALL")).acks());
    assertEquals(-1, ClientConfig.from(with("acks", "-1")).acks());
    assertEquals(0, ClientConfig.from(with("acks", "0")).acks());
    assertEquals(1, ClientConfig.from(with("acks", " 1 ")).acks());
    assertEquals(-1, ClientConfig.from(with()).acks(), "Kafka's default is all");
  }

  @Test
  void sizesThatMustBePositiveRefuseZeroAndNegatives() {
    for (String key : List.of("batch.size", "max.request.size", "buffer.memory", "request.timeout.ms",
        "delivery.timeout.ms", "fetch.max.bytes", "max.partition.fetch.bytes", "max.poll.records")) {
      assertRejectedNaming(key, with(key, "0"));
      assertRejectedNaming(key, with(key, "-5"));
      assertRejectedNaming(key, with(key, "lots"));
      assertRejectedNaming(key, with(key, "3000000000"));
      assertEquals(1, ClientConfig.from(with(key, "1")).positiveInt(key));
    }
  }

  @Test
  void valuesThatMayBeZeroRefuseNegatives() {
    for (String key : List.of("linger.ms", "retry.backoff.ms", "fetch.min.bytes", "fetch.max.wait.ms", "max.block.ms")) {
      assertRejectedNaming(key, with(key, "-1"));
      assertRejectedNaming(key, with(key, "1.5"));
      assertEquals(0, ClientConfig.from(with(key, "0")).nonNegativeInt(key));
    }
  }

  @Test
  void groupRemoteAssignorIsUniformOrRange() {
    assertEquals("uniform", ClientConfig.from(with()).groupRemoteAssignor());
    assertEquals("range", ClientConfig.from(with("group.remote.assignor", "Range")).groupRemoteAssignor());
    assertRejectedNaming("group.remote.assignor", with("group.remote.assignor", "sticky"));
  }

  @Test
  void badAutoOffsetResetIsRefused() {
    for (String bad : List.of("none", "beginning", "", "earliest,latest")) {
      assertRejectedNaming("auto.offset.reset", with("auto.offset.reset", bad));
    }
  }

  @Test
  void autoOffsetResetParses() {
    assertTrue(ClientConfig.from(with("auto.offset.reset", "earliest")).autoOffsetResetEarliest());
    assertTrue(ClientConfig.from(with("auto.offset.reset", "EARLIEST")).autoOffsetResetEarliest());
    assertFalse(ClientConfig.from(with("auto.offset.reset", "latest")).autoOffsetResetEarliest());
    assertFalse(ClientConfig.from(with()).autoOffsetResetEarliest(), "Kafka's default is latest");
  }

  @Test
  void validSettingsParse() {
    ClientConfig c = ClientConfig.from(with(
        "bootstrap.servers", " broker-1:9092 , 10.0.0.2:19092,broker-3.example.com:1 ",
        "client.id", "app",
        "acks", "1",
        "batch.size", "32768",
        "linger.ms", "0",
        "max.poll.records", "10",
        "fetch.max.bytes", "1000"));
    assertEquals(List.of(new ClientConfig.HostPort("broker-1", 9092), new ClientConfig.HostPort("10.0.0.2", 19092),
        new ClientConfig.HostPort("broker-3.example.com", 1)), c.bootstrapServers());
    assertEquals(1, c.acks());
    assertEquals(32768, c.positiveInt("batch.size"));
    assertEquals(0, c.nonNegativeInt("linger.ms"));
    assertEquals(10, c.positiveInt("max.poll.records"));
    assertEquals(1000, c.positiveInt("fetch.max.bytes"));
    assertEquals("broker-1:9092", c.bootstrapServers().get(0).toString());
  }

  @Test
  void defaultsAreKafkasExceptBatchSize() {
    ClientConfig c = ClientConfig.from(with());
    // Deliberately larger than Kafka's 16384: one request in flight per partition (see ClientConfig).
    assertEquals(1048576, c.positiveInt("batch.size"));
    assertEquals(1048576, c.positiveInt("max.request.size"));
    assertEquals(30000, c.positiveInt("request.timeout.ms"));
    assertEquals(120000, c.positiveInt("delivery.timeout.ms"));
    assertEquals(500, c.positiveInt("max.poll.records"));
    assertEquals(52428800, c.positiveInt("fetch.max.bytes"));
    assertEquals(1048576, c.positiveInt("max.partition.fetch.bytes"));
    assertEquals(100, c.nonNegativeInt("retry.backoff.ms"));
    assertEquals(1, c.nonNegativeInt("fetch.min.bytes"));
    assertEquals(500, c.nonNegativeInt("fetch.max.wait.ms"));
    assertEquals(33554432, c.positiveInt("buffer.memory"));
    assertEquals(60000, c.nonNegativeInt("max.block.ms"));
  }

  @Test
  void parseHostPortNamesTheKeyItIsGiven() {
    assertEquals(new ClientConfig.HostPort("h", 5), ClientConfig.parseHostPort("x", "h:5"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ClientConfig.parseHostPort("my.key", "nohost"));
    assertTrue(e.getMessage().contains("my.key"), e.getMessage());
  }

  @Test
  void theSettingsMapIsNotModified() {
    Map<String, String> settings = with("acks", "0");
    Map<String, String> copy = new HashMap<>(settings);
    ClientConfig.from(settings);
    assertEquals(copy, settings);
  }

  /** A null value (possible with a HashMap) should be refused like any invalid value, naming the key. */
  @Test
  void aNullValueIsRefusedByName() {
    assertRejectedNaming("acks", with("acks", null));
    assertRejectedNaming("auto.offset.reset", with("auto.offset.reset", null));
  }

  @Test
  void compressionTypeTakesKafkasNamesAndDefaultsToNone() {
    assertEquals(io.raftline.protocol.records.CompressionType.NONE, ClientConfig.from(with()).compressionType());
    for (io.raftline.protocol.records.CompressionType t : io.raftline.protocol.records.CompressionType.values()) {
      assertEquals(t, ClientConfig.from(with("compression.type", t.configName())).compressionType());
    }
    for (String bad : List.of("lzo", "", "uncompressed", "producer", "gzip,lz4")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ClientConfig.from(with("compression.type", bad)));
      assertTrue(e.getMessage().contains("compression.type") && e.getMessage().contains("none, gzip, snappy, lz4, zstd"),
          e.getMessage());
    }
  }
}
