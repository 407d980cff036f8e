/**
 * Snapshots of the metadata image: the image written as the records that rebuild it, in a
 * CRC-checked file named {@code <endOffset>-<epoch>.checkpoint}. Plain blocking file IO: callers run
 * it on a worker thread.
 */
package io.raftline.metadata.snapshot;
