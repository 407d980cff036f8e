package io.raftline.metadata.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.pcollections.PMap;

/**
 * The image's map against java.util.HashMap as a model. Every map handed out must keep its content
 * whatever happens later to the maps and builders derived from it.
 */
class HashTrieMapTest {

  /** A key whose hash the test chooses: equal hashes make collision nodes, near ones deep tries. */
  private record Key(int id, int hash) {
    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.id == id;
    }
  }

  private static Key key(SplittableRandom random) {
    int id = random.nextInt(3_000);
    // A third collide in groups of four; a third differ only in their highest bits; the rest spread.
    int hash = switch (id % 3) {
      case 0 -> id / 4;
      case 1 -> id << 20;
      default -> id * 0x9E3779B9;
    };
    return new Key(id, hash);
  }

  @Test
  void persistentAndBuilderChangesMatchAHashMapAndLeaveEarlierMapsAlone() {
    SplittableRandom random = new SplittableRandom(7);
    PMap<Key, Integer> map = HashTrieMap.empty();
    Map<Key, Integer> model = new HashMap<>();
    List<PMap<Key, Integer>> versions = new ArrayList<>();
    List<Map<Key, Integer>> models = new ArrayList<>();
    HashTrieMap.Builder<Key, Integer> builder = null;
    for (int step = 0; step < 60_000; step++) {
      if (step % 500 == 0) {
        // Alternate runs of persistent changes and runs through a builder, as deltas do.
        if (builder != null) {
          map = builder.build();
          builder = random.nextBoolean() ? HashTrieMap.builder(map) : null;
        } else {
          builder = HashTrieMap.builder(map);
        }
        versions.add(builder != null ? builder.build() : map);
        models.add(Map.copyOf(model));
      }
      Key k = key(random);
      if (random.nextInt(3) == 0) {
        model.remove(k);
        if (builder != null) {
          builder.remove(k);
        } else {
          map = map.minus(k);
        }
      } else {
        if (builder != null) {
          builder.put(k, step);
        } else {
          map = map.plus(k, step);
        }
        model.put(k, step);
      }
      Key probe = key(random);
      Integer expected = model.get(probe);
      assertEquals(expected, builder != null ? builder.get(probe) : map.get(probe));
      assertEquals(model.size(), builder != null ? builder.size() : map.size());
    }
    if (builder != null) {
      map = builder.build();
    }
    assertEquals(model, map);
    assertEquals(map, model);
    assertEquals(model.hashCode(), map.hashCode());
    Map<Key, Integer> viaForEach = new HashMap<>();
    map.forEach(viaForEach::put);
    assertEquals(model, viaForEach);
    Map<Key, Integer> viaIterator = new HashMap<>();
    map.entrySet().forEach(e -> viaIterator.put(e.getKey(), e.getValue()));
    assertEquals(model, viaIterator);
    for (int i = 0; i < versions.size(); i++) {
      assertEquals(models.get(i), versions.get(i), "version " + i + " changed after later updates");
      assertEquals(models.get(i).size(), versions.get(i).entrySet().size());
    }
  }

  @Test
  void aBuilderGoingOnAfterBuildDoesNotChangeWhatItBuilt() {
    HashTrieMap.Builder<Integer, String> builder = HashTrieMap.builder(Map.of());
    for (int i = 0; i < 1_000; i++) {
      builder.put(i, "a" + i);
    }
    PMap<Integer, String> first = builder.build();
    for (int i = 0; i < 1_000; i++) {
      builder.put(i, "b" + i);
    }
    for (int i = 500; i < 1_000; i++) {
      builder.remove(i);
    }
    PMap<Integer, String> second = builder.build();
    assertEquals(1_000, first.size());
    for (int i = 0; i < 1_000; i++) {
      assertEquals("a" + i, first.get(i));
    }
    assertEquals(500, second.size());
    assertEquals("b3", second.get(3));
    assertNull(second.get(700));
  }

  @Test
  void lookupsOfMissingOrForeignKeysFindNothing() {
    PMap<Integer, String> map = HashTrieMap.<Integer, String>empty().plus(1, "one");
    assertNull(map.get(2));
    assertNull(map.get("1"));
    assertNull(map.get(null));
    assertFalse(map.containsKey("1"));
    assertEquals("none", map.getOrDefault(2, "none"));
    assertSame(map, map.minus(2), "removing an absent key keeps the same map");
    assertSame(map, map.plus(1, map.get(1)), "putting the same value keeps the same map");
    assertEquals(Map.of(), map.minusAll(List.of(1, 2)));
    assertEquals(Map.of(1, "one", 2, "two"), map.plusAll(Map.of(2, "two")));
    assertThrows(UnsupportedOperationException.class, () -> map.put(3, "three"));
    assertThrows(NullPointerException.class, () -> map.plus(null, "null"));
  }
}
