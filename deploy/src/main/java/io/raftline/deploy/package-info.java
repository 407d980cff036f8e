/**
 * Turning configuration into running verticles, and the {@code raftline} command line. This module
 * wires the other modules together (it is the only one that sees them all) and holds no broker or
 * Raft logic: {@link io.raftline.deploy.NodeConfig} reads Kafka-style properties,
 * {@link io.raftline.deploy.Storage} formats and checks log directories,
 * {@link io.raftline.deploy.RaftlineNode} deploys the quorum and broker verticles, and
 * {@link io.raftline.deploy.RaftlineCli} is the Kafka-tool-style CLI.
 */
package io.raftline.deploy;
