package io.raftline.metadata.image;

import java.util.AbstractSet;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import org.pcollections.AbstractUnmodifiableMap;
import org.pcollections.PMap;

/**
 * The image's persistent map: a hash array mapped trie with 32-way nodes that hold entries inline
 * before their children (the CHAMP layout), and a {@link Builder} that changes nodes in place while it
 * alone owns them (like Clojure's transients).
 *
 * <p>Why not a library map: pcollections' trees copied and rebalanced some twenty nodes per update in
 * the 10,000-broker map, the largest cost of committing metadata. Vavr's trie copies three, but it has
 * no builder, so every record still copies its whole path. A delta replays a commit's worth of records
 * (or one event-loop turn's decisions) before anyone sees the result; through a builder each node on
 * their paths is copied once for the batch (raftline perf quorum). Iteration order is by hash,
 * unspecified as for any hash map. Keys must not be null.
 */
final class HashTrieMap<K, V> extends AbstractUnmodifiableMap<K, V> implements PMap<K, V> {
  private static final HashTrieMap<?, ?> EMPTY = new HashTrieMap<>(null, 0);
  /** Stands for "no mapping" in lookups, so they need neither an Option nor a second search. */
  private static final Object ABSENT = new Object();
  private static final int BITS = 5;
  private static final int MASK = (1 << BITS) - 1;

  private final Node root;
  private final int size;

  private HashTrieMap(Node root, int size) {
    this.root = root;
    this.size = size;
  }

  @SuppressWarnings("unchecked")
  static <K, V> HashTrieMap<K, V> empty() {
    return (HashTrieMap<K, V>) EMPTY;
  }

  /** A builder starting from {@code map}'s entries; cheap when {@code map} is a HashTrieMap. */
  static <K, V> Builder<K, V> builder(Map<K, V> map) {
    return new Builder<>(map);
  }

  private static int hash(Object key) {
    int h = key.hashCode();
    return h ^ (h >>> 16); // keys that differ only in high bits part near the root, not 6 levels down
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public boolean isEmpty() {
    return size == 0;
  }

  @Override
  public boolean containsKey(Object key) {
    return lookup(root, key) != ABSENT;
  }

  @Override
  public V get(Object key) {
    return getOrDefault(key, null);
  }

  @Override
  @SuppressWarnings("unchecked")
  public V getOrDefault(Object key, V defaultValue) {
    Object v = lookup(root, key);
    return v == ABSENT ? defaultValue : (V) v;
  }

  private static Object lookup(Node root, Object key) {
    return root == null || key == null ? ABSENT : root.find(0, hash(key), key);
  }

  @Override
  public HashTrieMap<K, V> plus(K key, V value) {
    Objects.requireNonNull(key, "key");
    boolean[] added = new boolean[1];
    Node r = (root == null ? BitmapNode.EMPTY : root).put(null, 0, hash(key), key, value, added);
    return r == root ? this : new HashTrieMap<>(r, added[0] ? size + 1 : size);
  }

  @Override
  public HashTrieMap<K, V> plusAll(Map<? extends K, ? extends V> map) {
    Builder<K, V> b = builder(this);
    map.forEach(b::put);
    return b.build();
  }

  @Override
  public HashTrieMap<K, V> minus(Object key) {
    if (root == null || key == null) {
      return this;
    }
    boolean[] removed = new boolean[1];
    Node r = root.remove(null, 0, hash(key), key, removed);
    return r == root ? this : r == null ? empty() : new HashTrieMap<>(r, size - 1);
  }

  @Override
  public HashTrieMap<K, V> minusAll(Collection<?> keys) {
    Builder<K, V> b = builder(this);
    keys.forEach(b::remove);
    return b.build();
  }

  @Override
  @SuppressWarnings("unchecked")
  public void forEach(BiConsumer<? super K, ? super V> action) {
    if (root != null) {
      root.forEach((BiConsumer<Object, Object>) action);
    }
  }

  @Override
  public Set<Map.Entry<K, V>> entrySet() {
    return new AbstractSet<>() {
      @Override
      public Iterator<Map.Entry<K, V>> iterator() {
        return new EntryIterator<>(root);
      }

      @Override
      public int size() {
        return size;
      }

      @Override
      public boolean contains(Object o) {
        if (!(o instanceof Map.Entry<?, ?> e)) {
          return false;
        }
        Object v = lookup(root, e.getKey());
        return v != ABSENT && Objects.equals(v, e.getValue());
      }
    };
  }

  /**
   * Changes a map in place until {@link #build()}: nodes it copied belong to it and are changed again
   * without copying. Not thread-safe; {@link #build()} hands out an immutable map, and the builder may
   * go on (copying again on its next change).
   */
  static final class Builder<K, V> {
    /** The owner mark of the nodes this builder may change in place; made on the first change. */
    private Object edit;
    private Node root;
    private int size;
    /** The map this builder holds while unchanged, so an untouched builder builds nothing new. */
    private HashTrieMap<K, V> built;

    private Builder(Map<K, V> from) {
      if (from instanceof HashTrieMap<K, V> m) {
        root = m.root;
        size = m.size;
        built = m;
      } else {
        from.forEach(this::put);
      }
    }

    int size() {
      return size;
    }

    boolean containsKey(Object key) {
      return lookup(root, key) != ABSENT;
    }

    V get(Object key) {
      return getOrDefault(key, null);
    }

    @SuppressWarnings("unchecked")
    V getOrDefault(Object key, V defaultValue) {
      Object v = lookup(root, key);
      return v == ABSENT ? defaultValue : (V) v;
    }

    Builder<K, V> put(K key, V value) {
      Objects.requireNonNull(key, "key");
      if (edit == null) {
        edit = new Object();
      }
      boolean[] added = new boolean[1];
      Node r = (root == null ? BitmapNode.EMPTY : root).put(edit, 0, hash(key), key, value, added);
      if (r != root || added[0]) {
        root = r;
        built = null;
      }
      if (added[0]) {
        size++;
      }
      return this;
    }

    Builder<K, V> remove(Object key) {
      if (root == null || key == null) {
        return this;
      }
      if (edit == null) {
        edit = new Object();
      }
      boolean[] removed = new boolean[1];
      Node r = root.remove(edit, 0, hash(key), key, removed);
      if (removed[0]) {
        root = r;
        size--;
        built = null;
      }
      return this;
    }

    HashTrieMap<K, V> build() {
      if (built == null) {
        // Nodes marked with the current owner must not change any more: the next change takes a new mark.
        edit = null;
        built = size == 0 ? empty() : new HashTrieMap<>(root, size);
      }
      return built;
    }
  }

  private abstract static class Node {
    /** The builder that may change this node in place; null for a node that may be shared. */
    final Object edit;

    Node(Object edit) {
      this.edit = edit;
    }

    boolean ownedBy(Object edit) {
      return edit != null && this.edit == edit;
    }

    abstract Object find(int shift, int hash, Object key);

    abstract Node put(Object edit, int shift, int hash, Object key, Object value, boolean[] added);

    /** The node without {@code key}; null if that leaves it empty. */
    abstract Node remove(Object edit, int shift, int hash, Object key, boolean[] removed);

    abstract void forEach(BiConsumer<Object, Object> action);

    /** Key/value pairs in {@code [0, dataLength())}, child nodes after them. */
    abstract Object[] array();

    abstract int dataLength();
  }

  /**
   * Up to 32 entries or children, one per 5-bit fragment of the hash. As in CHAMP, entries (key, value)
   * come first and children after them, each group in fragment order, so a node full of children is a
   * 32-slot array, not 64.
   */
  private static final class BitmapNode extends Node {
    static final BitmapNode EMPTY = new BitmapNode(null, 0, 0, new Object[0]);

    int dataMap;
    int nodeMap;
    Object[] array;

    BitmapNode(Object edit, int dataMap, int nodeMap, Object[] array) {
      super(edit);
      this.dataMap = dataMap;
      this.nodeMap = nodeMap;
      this.array = array;
    }

    private int dataIndex(int bit) {
      return 2 * Integer.bitCount(dataMap & (bit - 1));
    }

    private int nodeIndex(int bit) {
      return 2 * Integer.bitCount(dataMap) + Integer.bitCount(nodeMap & (bit - 1));
    }

    @Override
    Object[] array() {
      return array;
    }

    @Override
    int dataLength() {
      return 2 * Integer.bitCount(dataMap);
    }

    @Override
    Object find(int shift, int hash, Object key) {
      int bit = 1 << ((hash >>> shift) & MASK);
      if ((dataMap & bit) != 0) {
        int i = dataIndex(bit);
        return key.equals(array[i]) ? array[i + 1] : ABSENT;
      }
      if ((nodeMap & bit) != 0) {
        return ((Node) array[nodeIndex(bit)]).find(shift + BITS, hash, key);
      }
      return ABSENT;
    }

    @Override
    Node put(Object edit, int shift, int hash, Object key, Object value, boolean[] added) {
      int bit = 1 << ((hash >>> shift) & MASK);
      if ((dataMap & bit) != 0) {
        int i = dataIndex(bit);
        Object k = array[i];
        Object v = array[i + 1];
        if (key.equals(k)) {
          return v == value ? this : with(edit, i + 1, value);
        }
        // Two keys on one fragment: the pair moves down into a new child.
        added[0] = true;
        Node child = pair(edit, shift + BITS, hash(k), k, v, hash, key, value);
        int j = nodeIndex(bit) - 2; // where the child goes once the pair is gone
        Object[] a = new Object[array.length - 1];
        System.arraycopy(array, 0, a, 0, i);
        System.arraycopy(array, i + 2, a, i, j - i);
        a[j] = child;
        System.arraycopy(array, j + 2, a, j + 1, array.length - j - 2);
        return replace(edit, dataMap ^ bit, nodeMap | bit, a);
      }
      if ((nodeMap & bit) != 0) {
        int i = nodeIndex(bit);
        Node old = (Node) array[i];
        Node child = old.put(edit, shift + BITS, hash, key, value, added);
        return child == old ? this : with(edit, i, child);
      }
      added[0] = true;
      int i = dataIndex(bit);
      Object[] a = new Object[array.length + 2];
      System.arraycopy(array, 0, a, 0, i);
      a[i] = key;
      a[i + 1] = value;
      System.arraycopy(array, i, a, i + 2, array.length - i);
      return replace(edit, dataMap | bit, nodeMap, a);
    }

    @Override
    Node remove(Object edit, int shift, int hash, Object key, boolean[] removed) {
      int bit = 1 << ((hash >>> shift) & MASK);
      if ((dataMap & bit) != 0) {
        int i = dataIndex(bit);
        if (!key.equals(array[i])) {
          return this;
        }
        removed[0] = true;
        if (array.length == 2) {
          return null;
        }
        Object[] a = new Object[array.length - 2];
        System.arraycopy(array, 0, a, 0, i);
        System.arraycopy(array, i + 2, a, i, array.length - i - 2);
        return replace(edit, dataMap ^ bit, nodeMap, a);
      }
      if ((nodeMap & bit) != 0) {
        int i = nodeIndex(bit);
        Node old = (Node) array[i];
        Node child = old.remove(edit, shift + BITS, hash, key, removed);
        if (child == old) {
          return this;
        }
        if (child != null) {
          return with(edit, i, child);
        }
        if (array.length == 1) {
          return null;
        }
        Object[] a = new Object[array.length - 1];
        System.arraycopy(array, 0, a, 0, i);
        System.arraycopy(array, i + 1, a, i, array.length - i - 1);
        return replace(edit, dataMap, nodeMap ^ bit, a);
      }
      return this;
    }

    /** This node with slot {@code i} set, in place if {@code edit} owns it. */
    private BitmapNode with(Object edit, int i, Object x) {
      if (ownedBy(edit)) {
        array[i] = x;
        return this;
      }
      Object[] a = array.clone();
      a[i] = x;
      return new BitmapNode(edit, dataMap, nodeMap, a);
    }

    private BitmapNode replace(Object edit, int newDataMap, int newNodeMap, Object[] a) {
      if (ownedBy(edit)) {
        dataMap = newDataMap;
        nodeMap = newNodeMap;
        array = a;
        return this;
      }
      return new BitmapNode(edit, newDataMap, newNodeMap, a);
    }

    @Override
    void forEach(BiConsumer<Object, Object> action) {
      int data = dataLength();
      for (int i = 0; i < data; i += 2) {
        action.accept(array[i], array[i + 1]);
      }
      for (int i = data; i < array.length; i++) {
        ((Node) array[i]).forEach(action);
      }
    }
  }

  /** Entries whose whole hashes are equal. */
  private static final class CollisionNode extends Node {
    final int hash;
    Object[] array;

    CollisionNode(Object edit, int hash, Object[] array) {
      super(edit);
      this.hash = hash;
      this.array = array;
    }

    @Override
    Object[] array() {
      return array;
    }

    @Override
    int dataLength() {
      return array.length;
    }

    private int indexOf(Object key) {
      for (int i = 0; i < array.length; i += 2) {
        if (key.equals(array[i])) {
          return i;
        }
      }
      return -1;
    }

    @Override
    Object find(int shift, int hash, Object key) {
      int i = hash == this.hash ? indexOf(key) : -1;
      return i < 0 ? ABSENT : array[i + 1];
    }

    @Override
    Node put(Object edit, int shift, int hash, Object key, Object value, boolean[] added) {
      if (hash != this.hash) {
        // Another hash reaches this depth: a bitmap node separates the two from here on.
        BitmapNode parent = new BitmapNode(edit, 0, 1 << ((this.hash >>> shift) & MASK), new Object[] {this});
        return parent.put(edit, shift, hash, key, value, added);
      }
      int i = indexOf(key);
      if (i >= 0) {
        if (array[i + 1] == value) {
          return this;
        }
        if (ownedBy(edit)) {
          array[i + 1] = value;
          return this;
        }
        Object[] a = array.clone();
        a[i + 1] = value;
        return new CollisionNode(edit, hash, a);
      }
      added[0] = true;
      Object[] a = java.util.Arrays.copyOf(array, array.length + 2);
      a[array.length] = key;
      a[array.length + 1] = value;
      if (ownedBy(edit)) {
        array = a;
        return this;
      }
      return new CollisionNode(edit, hash, a);
    }

    @Override
    Node remove(Object edit, int shift, int hash, Object key, boolean[] removed) {
      int i = hash == this.hash ? indexOf(key) : -1;
      if (i < 0) {
        return this;
      }
      removed[0] = true;
      if (array.length == 2) {
        return null;
      }
      Object[] a = new Object[array.length - 2];
      System.arraycopy(array, 0, a, 0, i);
      System.arraycopy(array, i + 2, a, i, array.length - i - 2);
      if (ownedBy(edit)) {
        array = a;
        return this;
      }
      return new CollisionNode(edit, hash, a);
    }

    @Override
    void forEach(BiConsumer<Object, Object> action) {
      for (int i = 0; i < array.length; i += 2) {
        action.accept(array[i], array[i + 1]);
      }
    }
  }

  /** A node holding two entries whose hashes agree below {@code shift}. */
  private static Node pair(Object edit, int shift, int hash1, Object key1, Object value1, int hash2, Object key2,
      Object value2) {
    if (hash1 == hash2) {
      return new CollisionNode(edit, hash1, new Object[] {key1, value1, key2, value2});
    }
    int frag1 = (hash1 >>> shift) & MASK;
    int frag2 = (hash2 >>> shift) & MASK;
    if (frag1 == frag2) {
      return new BitmapNode(edit, 0, 1 << frag1,
          new Object[] {pair(edit, shift + BITS, hash1, key1, value1, hash2, key2, value2)});
    }
    Object[] a = frag1 < frag2 ? new Object[] {key1, value1, key2, value2} : new Object[] {key2, value2, key1, value1};
    return new BitmapNode(edit, (1 << frag1) | (1 << frag2), 0, a);
  }

  /** Depth-first over the trie with an explicit stack (a trie of 32-bit hashes is at most 8 nodes deep). */
  private static final class EntryIterator<K, V> implements Iterator<Map.Entry<K, V>> {
    private final Node[] nodes = new Node[8];
    private final int[] positions = new int[8];
    private int depth = -1;
    private Object nextKey;
    private Object nextValue;
    private boolean ready;

    EntryIterator(Node root) {
      if (root != null) {
        depth = 0;
        nodes[0] = root;
      }
    }

    @Override
    public boolean hasNext() {
      while (!ready && depth >= 0) {
        Node node = nodes[depth];
        Object[] array = node.array();
        int i = positions[depth];
        if (i >= array.length) {
          depth--;
        } else if (i < node.dataLength()) {
          positions[depth] = i + 2;
          nextKey = array[i];
          nextValue = array[i + 1];
          ready = true;
        } else {
          positions[depth] = i + 1;
          depth++;
          nodes[depth] = (Node) array[i];
          positions[depth] = 0;
        }
      }
      return ready;
    }

    @Override
    @SuppressWarnings("unchecked")
    public Map.Entry<K, V> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      ready = false;
      return new SimpleImmutableEntry<>((K) nextKey, (V) nextValue);
    }
  }
}
