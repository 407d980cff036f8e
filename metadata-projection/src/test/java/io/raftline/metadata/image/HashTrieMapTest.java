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

/** The image's map against java.util.HashMap as a model, old versions included (they must never change). */
class HashTrieMapTest {

  @Test
  void behavesLikeAHashMapAndKeepsEveryVersion() {
    SplittableRandom random = new SplittableRandom(42);
    PMap<Integer, String> map = HashTrieMap.empty();
    Map<Integer, String> model = new HashMap<>();
    List<PMap<Integer, String>> versions = new ArrayList<>();
    List<Map<Integer, String>> models = new ArrayList<>();
    for (int step = 0; step < 20_000; step++) {
      // Negative keys and a small key range give colliding hash fragments, removals and overwrites.
      int key = random.nextInt(-500, 2_000);
      if (random.nextInt(4) == 0) {
        map = map.minus(key);
        model.remove(key);
      } else {
        String value = "v" + step;
        map = map.plus(key, value);
        model.put(key, value);
      }
      if (step % 1_000 == 0) {
        versions.add(map);
        models.add(Map.copyOf(model));
      }
      int probe = random.nextInt(-500, 2_000);
      assertEquals(model.get(probe), map.get(probe));
      assertEquals(model.containsKey(probe), map.containsKey(probe));
    }
    assertEquals(model, map);
    assertEquals(map, model);
    assertEquals(model.hashCode(), map.hashCode());
    assertEquals(model.entrySet(), map.entrySet());
    Map<Integer, String> viaForEach = new HashMap<>();
    map.forEach(viaForEach::put);
    assertEquals(model, viaForEach);
    for (int i = 0; i < versions.size(); i++) {
      assertEquals(models.get(i), versions.get(i), "version " + i + " changed after later updates");
    }
  }

  @Test
  void lookupsOfMissingOrForeignKeysFindNothing() {
    PMap<Integer, String> map = HashTrieMap.<Integer, String>empty().plus(1, "one");
    assertNull(map.get(2));
    assertNull(map.get("1"));
    assertFalse(map.containsKey("1"));
    assertEquals("none", map.getOrDefault(2, "none"));
    assertSame(map, map.minus(2), "removing an absent key keeps the same map");
    assertEquals(Map.of(), map.minusAll(List.of(1, 2)));
    assertEquals(Map.of(1, "one", 2, "two"), map.plusAll(Map.of(2, "two")));
    assertThrows(UnsupportedOperationException.class, () -> map.put(3, "three"));
  }
}
