/**
 * Cluster metadata as events. Every change is a {@link io.raftline.metadata.record.MetadataRecord}
 * appended to the {@code __cluster_metadata} log; an immutable
 * {@link io.raftline.metadata.image.MetadataImage} is the state after some offset, and a
 * {@link io.raftline.metadata.image.MetadataDelta} applies records to yield the next image while
 * sharing structure with the last one. Projections tell a broker what changed for it.
 *
 * <p>This module is pure: no Vert.x, no threads, no file IO. Whoever owns an image (the quorum
 * verticle) drives it; everyone else receives immutable images.
 */
package io.raftline.metadata;
