/**
 * The controller quorum: {@link io.raftline.quorum.QuorumVerticle} is the IO shell that drives the pure
 * Raft core ({@link io.raftline.quorum.raft}) over gRPC, keeps the durable metadata log
 * ({@link io.raftline.quorum.log}), applies committed records to the metadata image and publishes it,
 * and on the Raft leader runs the active controller ({@link io.raftline.quorum.controller}). Disk work
 * runs on one ordered worker queue; everything else on the verticle's event loop.
 */
package io.raftline.quorum;
