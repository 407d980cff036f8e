/** The metadata event types and their compact, versioned protobuf encoding. */
package io.raftline.metadata.record;
