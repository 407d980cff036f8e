/**
 * The pure Raft core of the metadata quorum (Kafka's KRaft model: KIP-595 pull-based Raft plus KIP-996
 * pre-vote).
 *
 * <p>This package owns the consensus rules and nothing else: elections (randomised timeouts, pre-vote,
 * one vote per epoch), pull replication with divergence detection and truncation, the high watermark,
 * check-quorum resignation, graceful hand-over (BeginQuorumEpoch / EndQuorumEpoch) and observers.
 * {@link io.raftline.quorum.raft.RaftNode} is a single-threaded, deterministic state machine in the style
 * of etcd's raft: the caller feeds it messages, ticks, proposals and "fsync done" reports, and drains a
 * {@link io.raftline.quorum.raft.Ready} that says what to persist, what to append, what to send and what
 * is now committed.
 *
 * <p>What it deliberately does not own: sockets, files, threads, clocks and random seeds. Those belong to
 * the IO shell (the quorum verticle), which must persist {@link io.raftline.quorum.raft.Ready#state()}
 * before sending {@link io.raftline.quorum.raft.Ready#messages()}, and report log fsyncs through
 * {@link io.raftline.quorum.raft.RaftNode#appendDurable(long)}. Keeping the core free of IO is what makes
 * the seeded simulation test ({@code RaftSimulationTest}) able to explore message loss, duplication,
 * reordering, partitions and crashes, and replay any failure exactly; a source-scanning test enforces it
 * (no Vert.x, java.io, java.nio, java.net, java.util.concurrent, threads or wall clock in this package).
 *
 * <p>Conventions: offsets are Kafka-style (the log end offset is exclusive; the high watermark is the
 * exclusive end of the committed prefix); epochs start at 0 and the first leader has epoch 1; every new
 * leader appends one entry with an empty payload, which the metadata state machine must skip.
 *
 * <p>Snapshots (KIP-630): the shell snapshots its state machine at a committed offset and reports it
 * ({@link io.raftline.quorum.raft.RaftNode#snapshotTaken}); the log then starts there
 * ({@link io.raftline.quorum.raft.OffsetAndEpoch} names both a snapshot and a log's start boundary). A
 * leader names its latest snapshot to a fetcher it cannot serve from its log; the fetcher's shell
 * downloads and installs it ({@link io.raftline.quorum.raft.Ready#snapshotToFetch()},
 * {@link io.raftline.quorum.raft.RaftNode#snapshotInstalled}). Dynamic voter sets are not implemented
 * yet.
 */
package io.raftline.quorum.raft;
