package io.raftline.quorum;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

/**
 * Passes immutable objects (metadata images and updates) between verticles of one Vert.x instance
 * by reference. They never leave the process, so encoding for the wire is refused.
 */
final class LocalObjectCodec<T> implements MessageCodec<T, T> {
  private final String name;

  LocalObjectCodec(Class<T> type) {
    this.name = "raftline-local-" + type.getName();
  }

  @Override
  public void encodeToWire(Buffer buffer, T t) {
    throw new UnsupportedOperationException(name + " is for local delivery only");
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    throw new UnsupportedOperationException(name + " is for local delivery only");
  }

  @Override
  public T transform(T t) {
    return t;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
