/**
 * Consumer groups: the group coordinator, in the style of Kafka's KIP-848 consumer protocol with a
 * server-side assignor. The coordinator of a group is the leader of {@code __consumer_offsets}
 * partition {@link io.raftline.broker.group.GroupCoordinator#partitionFor}; committed offsets, group
 * deletions and members (epochs, owned partitions, subscriptions) are key/value records of that
 * compacted partition ({@link io.raftline.broker.group.OffsetRecords}), so a new coordinator goes on
 * with the members where the old one left them.
 *
 * <p>{@link io.raftline.broker.group.GroupCoordinator} is the pure, single-threaded state machine (no
 * Vert.x, time passed in); {@link io.raftline.broker.group.GroupCoordinatorApi} is the gRPC service and
 * IO shell on one Vert.x context; {@link io.raftline.broker.group.CoordinatorContext} is all it needs
 * from the broker (append to and read the offsets partitions, who leads them, topic partition counts).
 */
package io.raftline.broker.group;
