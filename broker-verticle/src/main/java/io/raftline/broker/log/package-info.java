/**
 * On-disk partition logs. A {@link io.raftline.broker.log.PartitionLog} is plain blocking code that
 * the broker runs on a worker, one task at a time per partition; it stores record batches exactly as
 * received (after validation and offset stamping) in segments named by base offset, with sparse
 * offset and time indexes ({@link io.raftline.broker.log.LogSegment}), recovery-point and log-start
 * checkpoints, time and size retention, timestamp lookup and key compaction
 * ({@link io.raftline.broker.log.Compactor}), and serves them back as byte ranges. Nothing here reads
 * the wall clock; callers pass {@code nowMs}.
 */
package io.raftline.broker.log;
