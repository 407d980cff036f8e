/**
 * The controller's durable state on disk: the replicated metadata log ({@code __cluster_metadata-0})
 * and the quorum-state file (current epoch, vote, leader).
 *
 * <p>This package owns the bytes: the segment and batch format, CRC checks, crash recovery (a torn tail
 * is cut away, real corruption stops the node), Raft truncation, and fsync discipline. It does not decide
 * <em>when</em> to append, flush or truncate; the Raft core does that and {@code QuorumVerticle} carries
 * out its decisions here. Everything in this package is plain blocking {@code java.nio}: the verticle calls
 * it from one ordered worker, never from an event loop, so no class here is thread-safe or needs to be.
 *
 * <p>Durability contract (DESIGN.md, "Raft, KRaft flavour"): an entry counts toward the majority only
 * once {@link io.raftline.quorum.log.MetadataLog#flush()} has returned an end offset beyond it, and the
 * quorum state is on disk when {@link io.raftline.quorum.log.QuorumStateFile#write} returns, so a vote is
 * never answered before it is durable.
 */
package io.raftline.quorum.log;
