/**
 * On-disk partition logs. A {@link io.raftline.broker.log.PartitionLog} is plain blocking code that
 * the broker runs on a worker, one task at a time per partition; it stores record batches exactly as
 * received (after validation and offset stamping) and serves them back as byte ranges.
 */
package io.raftline.broker.log;
