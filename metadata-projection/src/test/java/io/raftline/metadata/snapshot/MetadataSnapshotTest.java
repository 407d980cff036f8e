package io.raftline.metadata.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftline.metadata.image.MetadataDelta;
import io.raftline.metadata.image.MetadataImage;
import io.raftline.metadata.image.PartitionRegistration;
import io.raftline.metadata.record.AccessControlEntryRecord;
import io.raftline.metadata.record.BrokerEndpoint;
import io.raftline.metadata.record.ClientQuotaRecord;
import io.raftline.metadata.record.ConfigRecord;
import io.raftline.metadata.record.ConfigResource;
import io.raftline.metadata.record.FeatureLevelRecord;
import io.raftline.metadata.record.FenceBrokerRecord;
import io.raftline.metadata.record.MetadataRecord;
import io.raftline.metadata.record.NoOpRecord;
import io.raftline.metadata.record.PartitionChangeRecord;
import io.raftline.metadata.record.PartitionRecord;
import io.raftline.metadata.record.ProducerIdsRecord;
import io.raftline.metadata.record.RegisterBrokerRecord;
import io.raftline.metadata.record.RemoveAccessControlEntryRecord;
import io.raftline.metadata.record.RemoveTopicRecord;
import io.raftline.metadata.record.TopicRecord;
import io.raftline.metadata.record.UnfenceBrokerRecord;
import io.raftline.metadata.record.UnregisterBrokerRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Properties of snapshots over random, valid record sequences: an image written and read back is
 * equal, and image(snapshot at any offset + the tail after it) equals image(full replay). A failing
 * seed is named in the message and replays exactly.
 */
class MetadataSnapshotTest {
  private static final int SEEDS = Integer.getInteger("raftline.snapshot.seeds", 60);
  @TempDir Path dir;

  /** Produces records that are valid in order, by keeping the same image the replay will build. */
  static final class RecordGenerator {
    private final SplittableRandom random;
    private MetadataImage image = MetadataImage.EMPTY;
    private long nextOffset;
    private int topicCounter;

    RecordGenerator(long seed) {
      this.random = new SplittableRandom(seed);
    }

    List<MetadataRecord> next(int count) {
      List<MetadataRecord> out = new ArrayList<>();
      while (out.size() < count) {
        for (MetadataRecord r : operation()) {
          MetadataDelta d = new MetadataDelta(image);
          d.replay(nextOffset++, r);
          image = d.apply();
          out.add(r);
        }
      }
      return out;
    }

    private List<MetadataRecord> operation() {
      List<Integer> brokers = new ArrayList<>(image.brokers().keySet());
      List<UUID> topics = new ArrayList<>(image.topicsById().keySet());
      brokers.sort(Integer::compare);
      topics.sort(UUID::compareTo);
      switch (random.nextInt(12)) {
        case 0: {
          int id = random.nextInt(6);
          return List.of(new RegisterBrokerRecord(id, "inc-" + random.nextInt(1000), nextOffset,
              List.of(new BrokerEndpoint("PLAINTEXT", "h" + id, 9092 + id)), random.nextBoolean() ? "r1" : "",
              random.nextBoolean()));
        }
        case 1: {
          if (brokers.isEmpty()) {
            return List.of(NoOpRecord.INSTANCE);
          }
          int id = brokers.get(random.nextInt(brokers.size()));
          long epoch = image.broker(id).orElseThrow().epoch();
          int kind = random.nextInt(5);
          return List.of(kind == 0 ? new UnregisterBrokerRecord(id, epoch)
              : kind % 2 == 0 ? new FenceBrokerRecord(id, epoch) : new UnfenceBrokerRecord(id, epoch));
        }
        case 2:
        case 3: {
          UUID id = new UUID(random.nextLong(), random.nextLong());
          List<MetadataRecord> ops = new ArrayList<>();
          ops.add(new TopicRecord("topic-" + topicCounter++, id));
          int partitions = 1 + random.nextInt(4);
          for (int p = 0; p < partitions; p++) {
            List<Integer> replicas = List.of(random.nextInt(6), 6 + random.nextInt(3));
            ops.add(new PartitionRecord(id, p, replicas, replicas, replicas.get(0), 0, 0));
          }
          return ops;
        }
        case 4:
        case 5: {
          if (topics.isEmpty()) {
            return List.of(NoOpRecord.INSTANCE);
          }
          UUID id = topics.get(random.nextInt(topics.size()));
          int partition = random.nextInt(image.topic(id).orElseThrow().partitions().size());
          PartitionRegistration p = image.topic(id).orElseThrow().partition(partition);
          int leader = random.nextBoolean() ? PartitionChangeRecord.NO_CHANGE : p.replicas().get(random.nextInt(2));
          List<Integer> isr = random.nextBoolean() ? null : List.of(p.replicas().get(random.nextInt(2)));
          return List.of(new PartitionChangeRecord(id, partition, leader, isr, random.nextInt(4) == 0
              ? List.of(p.replicas().get(1), p.replicas().get(0)) : null));
        }
        case 6: {
          if (topics.isEmpty()) {
            return List.of(NoOpRecord.INSTANCE);
          }
          return List.of(new RemoveTopicRecord(topics.get(random.nextInt(topics.size()))));
        }
        case 7: {
          ConfigResource resource = topics.isEmpty() || random.nextBoolean()
              ? new ConfigResource(ConfigResource.Type.BROKER, random.nextBoolean() ? "" : "1")
              : new ConfigResource(ConfigResource.Type.TOPIC,
                  image.topic(topics.get(random.nextInt(topics.size()))).orElseThrow().name());
          String key = List.of("retention.ms", "cleanup.policy", "min.insync.replicas").get(random.nextInt(3));
          return List.of(new ConfigRecord(resource, key, random.nextInt(3) == 0 ? null : "v" + random.nextInt(100)));
        }
        case 8:
          return List.of(new ProducerIdsRecord(random.nextInt(3), 0, image.nextProducerId() + 1000));
        case 9:
          return List.of(new FeatureLevelRecord("feature-" + random.nextInt(3), random.nextInt(3)));
        case 10: {
          if (!image.acls().isEmpty() && random.nextBoolean()) {
            List<UUID> ids = new ArrayList<>(image.acls().keySet());
            ids.sort(UUID::compareTo);
            return List.of(new RemoveAccessControlEntryRecord(ids.get(random.nextInt(ids.size()))));
          }
          return List.of(new AccessControlEntryRecord(new UUID(random.nextLong(), random.nextLong()), "TOPIC",
              "t" + random.nextInt(5), "LITERAL", "User:u" + random.nextInt(3), "*", "READ", "ALLOW"));
        }
        default:
          return List.of(new ClientQuotaRecord(Map.of("user", "u" + random.nextInt(3)), "producer_byte_rate",
              random.nextInt(3) == 0 ? null : (double) random.nextInt(1_000_000)));
      }
    }
  }

  private static MetadataImage replay(MetadataImage base, List<MetadataRecord> records, long firstOffset) {
    MetadataDelta d = new MetadataDelta(base);
    long offset = firstOffset;
    for (MetadataRecord r : records) {
      d.replay(offset++, r);
    }
    return d.apply();
  }

  @Test
  void snapshotPlusTailEqualsFullReplayAndSnapshotsRoundTrip() throws IOException {
    for (int seed = 0; seed < SEEDS; seed++) {
      List<MetadataRecord> records = new RecordGenerator(seed).next(300);
      MetadataImage full = replay(MetadataImage.EMPTY, records, 0);
      SplittableRandom cuts = new SplittableRandom(seed * 31L + 7);
      for (int i = 0; i < 3; i++) {
        int cut = cuts.nextInt(records.size() + 1);
        MetadataImage prefix = replay(MetadataImage.EMPTY, records.subList(0, cut), 0);
        Path file = MetadataSnapshot.write(dir.resolve("seed-" + seed), new SnapshotId(cut, 1), prefix);
        MetadataImage loaded = MetadataSnapshot.load(file);
        assertEquals(prefix, loaded, "seed " + seed + ": snapshot at " + cut + " reads back equal");
        assertEquals(full, replay(loaded, records.subList(cut, records.size()), cut),
            "seed " + seed + ": snapshot at " + cut + " + tail equals the full replay");
      }
    }
  }

  @Test
  void aDamagedOrTruncatedSnapshotIsRefusedNamingTheFile() throws IOException {
    MetadataImage image = replay(MetadataImage.EMPTY, new RecordGenerator(42).next(200), 0);
    Path file = MetadataSnapshot.write(dir, new SnapshotId(200, 3), image);
    assertEquals(new SnapshotId(200, 3), SnapshotId.parse(file.getFileName().toString()).orElseThrow());
    byte[] good = Files.readAllBytes(file);

    byte[] flipped = good.clone();
    flipped[good.length / 2] ^= 0x10;
    Files.write(file, flipped);
    CorruptSnapshotException e = assertThrows(CorruptSnapshotException.class, () -> MetadataSnapshot.load(file));
    assertTrue(e.getMessage().contains(file.getFileName().toString()), e.getMessage());

    Files.write(file, java.util.Arrays.copyOf(good, good.length - 10));
    assertThrows(CorruptSnapshotException.class, () -> MetadataSnapshot.load(file));
    Files.write(file, new byte[] {1, 2, 3});
    assertThrows(CorruptSnapshotException.class, () -> MetadataSnapshot.load(file));
  }

  @Test
  void fileNamesSortByOffset() {
    assertEquals("00000000000000001234-0000000007.checkpoint", new SnapshotId(1234, 7).fileName());
    assertTrue(SnapshotId.parse("00000000000000001234-0000000007.checkpoint.tmp").isEmpty());
    assertTrue(SnapshotId.parse("garbage.checkpoint").isEmpty());
  }
}
