/**
 * The broker: stores topic partitions and serves produce, fetch and topic administration to clients.
 * {@link io.raftline.broker.BrokerVerticle} is the IO shell on one event loop; it learns the cluster
 * only from {@link io.raftline.metadata.projection.MetadataUpdate}s delivered on the event bus, and
 * talks to the controllers only through the {@code Controller} gRPC contract. File IO runs on worker
 * threads, serialised per partition by {@link io.raftline.broker.HostedPartition}.
 *
 * <p>This first version keeps one replica per partition: replication, ISR and acks=all waiting come
 * with the broker storage and replication work.
 */
package io.raftline.broker;
