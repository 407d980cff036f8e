package io.raftline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PartitionerTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void murmur2MatchesKafkasReferenceVectors() {
    // Vectors from Apache Kafka's UtilsTest#testMurmur2; they cover every tail length (0..3 bytes).
    assertEquals(-973932308, Partitioner.murmur2(utf8("21")));
    assertEquals(-790332482, Partitioner.murmur2(utf8("foobar")));
    assertEquals(-985981536, Partitioner.murmur2(utf8("a-little-bit-long-string")));
    assertEquals(-1486304829, Partitioner.murmur2(utf8("a-little-bit-longer-string")));
    assertEquals(-58897971, Partitioner.murmur2(utf8("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")));
    assertEquals(479470107, Partitioner.murmur2(utf8("abc")));
  }

  @Test
  void murmur2DoesNotChangeItsInput() {
    byte[] key = utf8("foobar");
    Partitioner.murmur2(key);
    assertEquals("foobar", new String(key, StandardCharsets.UTF_8));
  }

  @Test
  void murmur2OfTheEmptyKeyIsStable() {
    assertEquals(Partitioner.murmur2(new byte[0]), Partitioner.murmur2(new byte[0]));
  }

  @Test
  void partitionForKeyIsThePositiveHashModuloTheCount() {
    SplittableRandom random = new SplittableRandom(99);
    for (int i = 0; i < 5_000; i++) {
      byte[] key = new byte[random.nextInt(40)];
      random.nextBytes(key);
      int partitions = 1 + random.nextInt(1000);
      int expected = (Partitioner.murmur2(key) & 0x7fffffff) % partitions;
      int got = Partitioner.partitionForKey(key, partitions);
      assertEquals(expected, got);
      assertTrue(got >= 0 && got < partitions, got + " of " + partitions);
    }
  }

  @Test
  void partitionForKeyOfReferenceVectors() {
    // -973932308 & 0x7fffffff = 1173551340
    assertEquals(1173551340 % 10, Partitioner.partitionForKey(utf8("21"), 10));
    assertEquals(479470107 % 7, Partitioner.partitionForKey(utf8("abc"), 7));
    assertEquals(0, Partitioner.partitionForKey(utf8("anything"), 1));
  }

  @Test
  void keysSpreadOverAllPartitions() {
    SplittableRandom random = new SplittableRandom(3);
    int[] counts = new int[8];
    for (int i = 0; i < 8_000; i++) {
      counts[Partitioner.partitionForKey(utf8("key-" + random.nextLong()), 8)]++;
    }
    for (int p = 0; p < 8; p++) {
      assertTrue(counts[p] > 700 && counts[p] < 1300, "partition " + p + " got " + counts[p]);
    }
  }
}
