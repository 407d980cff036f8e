package io.raftline.client;

import io.vertx.core.Handler;
import io.vertx.core.streams.ReadStream;

/**
 * A stream of records (a {@link TopicSubscription} or {@link GroupConsumer}) with keys and values
 * deserialised. A record whose key or value cannot be deserialised is not handed to the handler: the
 * exception handler gets a {@link RecordDeserializationException} with its topic, partition and offset
 * instead, and the stream goes on with the next record (its position moves past the bad one, so a
 * commit skips it; seek back to read it again). One bad record thus fails alone. Demand passes through
 * one for one; a bad record's unit of demand is asked for again, so a subscriber fetching one record at
 * a time still gets its record.
 */
public final class DeserializingStream<K, V> implements ReadStream<TypedRecord<K, V>> {
  private final ReadStream<ConsumerRecord> records;
  private final Deserializer<K> keys;
  private final Deserializer<V> values;
  private volatile Handler<Throwable> exceptionHandler;

  public DeserializingStream(ReadStream<ConsumerRecord> records, Deserializer<K> keys, Deserializer<V> values) {
    this.records = records;
    this.keys = keys;
    this.values = values;
  }

  @Override
  public DeserializingStream<K, V> exceptionHandler(Handler<Throwable> h) {
    exceptionHandler = h;
    records.exceptionHandler(h);
    return this;
  }

  @Override
  public DeserializingStream<K, V> handler(Handler<TypedRecord<K, V>> h) {
    if (h == null) {
      records.handler(null);
      return this;
    }
    records.handler(r -> {
      TopicPartition tp = new TopicPartition(r.topic(), r.partition());
      K key;
      V value;
      try {
        key = keys.deserialize(r.topic(), r.key());
      } catch (Exception e) {
        failed(new RecordDeserializationException(tp, r.offset(), true, e));
        records.fetch(1);
        return;
      }
      try {
        value = values.deserialize(r.topic(), r.value());
      } catch (Exception e) {
        failed(new RecordDeserializationException(tp, r.offset(), false, e));
        records.fetch(1);
        return;
      }
      h.handle(new TypedRecord<>(r.topic(), r.partition(), r.offset(), r.timestamp(), key, value, r.headers()));
    });
    return this;
  }

  private void failed(RecordDeserializationException e) {
    Handler<Throwable> h = exceptionHandler;
    if (h != null) {
      h.handle(e);
    }
  }

  @Override
  public DeserializingStream<K, V> pause() {
    records.pause();
    return this;
  }

  @Override
  public DeserializingStream<K, V> resume() {
    records.resume();
    return this;
  }

  @Override
  public DeserializingStream<K, V> fetch(long amount) {
    records.fetch(amount);
    return this;
  }

  @Override
  public DeserializingStream<K, V> endHandler(Handler<Void> h) {
    records.endHandler(h);
    return this;
  }
}
