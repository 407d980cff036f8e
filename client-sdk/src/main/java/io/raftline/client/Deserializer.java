package io.raftline.client;

/** Turns a record's key or value bytes into an object; may throw on bytes it cannot read. */
@FunctionalInterface
public interface Deserializer<T> {
  /** @param data the bytes, null for a null key or value */
  T deserialize(String topic, byte[] data) throws Exception;

  /** UTF-8 text. */
  Deserializer<String> STRING = (topic, data) -> data == null ? null
      : java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(data)).toString();
}
