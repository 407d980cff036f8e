package io.raftline.metadata.image;

import java.util.AbstractSet;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import org.pcollections.AbstractUnmodifiableMap;
import org.pcollections.PMap;

/**
 * The image's persistent map: a {@link PMap} over Vavr's hash array mapped trie. pcollections'
 * HashTreePMap (and IntTreePMap) keep a balanced binary tree, so one update in a map of 10,000 brokers
 * copies and rebalances some twenty nodes; replaying records into such maps was the largest cost of
 * committing metadata (raftline perf quorum). The trie copies about three small arrays instead.
 * Iteration order is the trie's (by hash), unspecified as for any hash map. Null keys and values are
 * not used by the image and not supported.
 */
final class HashTrieMap<K, V> extends AbstractUnmodifiableMap<K, V> implements PMap<K, V> {
  private static final HashTrieMap<?, ?> EMPTY = new HashTrieMap<>(io.vavr.collection.HashMap.empty());
  /** Stands for "no mapping" in lookups, so they need neither an Option nor a second search. */
  private static final Object ABSENT = new Object();

  private final io.vavr.collection.HashMap<K, V> trie;

  private HashTrieMap(io.vavr.collection.HashMap<K, V> trie) {
    this.trie = trie;
  }

  @SuppressWarnings("unchecked")
  static <K, V> HashTrieMap<K, V> empty() {
    return (HashTrieMap<K, V>) EMPTY;
  }

  @Override
  public int size() {
    return trie.size();
  }

  @Override
  public boolean isEmpty() {
    return trie.isEmpty();
  }

  @Override
  @SuppressWarnings("unchecked")
  public boolean containsKey(Object key) {
    return trie.containsKey((K) key);
  }

  @Override
  public V get(Object key) {
    return getOrDefault(key, null);
  }

  @Override
  @SuppressWarnings("unchecked")
  public V getOrDefault(Object key, V defaultValue) {
    Object v = trie.getOrElse((K) key, (V) ABSENT);
    return v == ABSENT ? defaultValue : (V) v;
  }

  @Override
  public HashTrieMap<K, V> plus(K key, V value) {
    return new HashTrieMap<>(trie.put(key, value));
  }

  @Override
  public HashTrieMap<K, V> plusAll(Map<? extends K, ? extends V> map) {
    io.vavr.collection.HashMap<K, V> t = trie;
    for (Map.Entry<? extends K, ? extends V> e : map.entrySet()) {
      t = t.put(e.getKey(), e.getValue());
    }
    return t == trie ? this : new HashTrieMap<>(t);
  }

  @Override
  @SuppressWarnings("unchecked")
  public HashTrieMap<K, V> minus(Object key) {
    io.vavr.collection.HashMap<K, V> t = trie.remove((K) key);
    return t == trie ? this : new HashTrieMap<>(t);
  }

  @Override
  @SuppressWarnings("unchecked")
  public HashTrieMap<K, V> minusAll(Collection<?> keys) {
    io.vavr.collection.HashMap<K, V> t = trie;
    for (Object k : keys) {
      t = t.remove((K) k);
    }
    return t == trie ? this : new HashTrieMap<>(t);
  }

  @Override
  public void forEach(BiConsumer<? super K, ? super V> action) {
    for (io.vavr.Tuple2<K, V> t : trie) {
      action.accept(t._1, t._2);
    }
  }

  @Override
  public Set<Map.Entry<K, V>> entrySet() {
    return new AbstractSet<>() {
      @Override
      public Iterator<Map.Entry<K, V>> iterator() {
        Iterator<io.vavr.Tuple2<K, V>> it = trie.iterator();
        return new Iterator<>() {
          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public Map.Entry<K, V> next() {
            io.vavr.Tuple2<K, V> t = it.next();
            return new SimpleImmutableEntry<>(t._1, t._2);
          }
        };
      }

      @Override
      public int size() {
        return trie.size();
      }

      @Override
      public boolean contains(Object o) {
        if (!(o instanceof Map.Entry<?, ?> e)) {
          return false;
        }
        Object v = getOrDefault(e.getKey(), null);
        return v != null && v.equals(e.getValue());
      }
    };
  }
}
