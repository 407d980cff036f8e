/**
 * The broker: stores topic partitions and serves produce, fetch and topic administration to clients.
 * {@link io.raftline.broker.BrokerVerticle} is the IO shell on one event loop; it learns the cluster
 * only from {@link io.raftline.metadata.projection.MetadataUpdate}s delivered on the event bus, and
 * talks to the controllers only through the {@code Controller} gRPC contract. File IO runs on worker
 * threads, serialised per partition by {@link io.raftline.broker.HostedPartition}.
 *
 * <p>Replication is pull-based, as in Kafka: a {@link io.raftline.broker.ReplicaFetcher} per leader
 * broker copies the partitions this broker follows; a leader tracks its followers with
 * {@link io.raftline.broker.InSyncReplicas} (high watermark, ISR proposals sent to the controller as
 * AlterPartition), and acks=all produces and consumer fetches wait on the high watermark. Each fetch
 * loop keeps an incremental fetch session (KIP-227) with its leader: the follower's side is
 * {@link io.raftline.protocol.FetcherSession}, the leader's {@link io.raftline.broker.FetchSessionCache}.
 */
package io.raftline.broker;
