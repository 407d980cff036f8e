/**
 * Views of the metadata for one node: what a broker must lead, follow or drop after a change, and the
 * {@link io.raftline.metadata.projection.MetadataUpdate} that carries images and deltas to listeners.
 */
package io.raftline.metadata.projection;
