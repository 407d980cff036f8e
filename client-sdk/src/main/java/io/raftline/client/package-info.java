/**
 * Raftline's Java client: one entry point, {@link io.raftline.client.RaftlineClient}, giving a
 * producer, a consumer stream, consumer-group members ({@link io.raftline.client.GroupConsumer}: the
 * broker-side coordinator assigns partitions, offsets are committed to it) and an admin client (topics,
 * configs, consumer groups) over gRPC. The Vert.x face returns
 * {@link io.vertx.core.Future}s and {@link io.vertx.core.streams.ReadStream}s; {@link io.raftline.client.rx}
 * adapts them to RxJava 3. The client's state lives on one Vert.x context (the one it was created
 * on, or a new one), so it takes no locks and may be called from any thread.
 */
package io.raftline.client;
