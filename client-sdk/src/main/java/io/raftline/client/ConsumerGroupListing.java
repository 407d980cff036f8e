package io.raftline.client;

/** A consumer group and its state (EMPTY, STABLE, RECONCILING), as listed by its coordinator. */
public record ConsumerGroupListing(String groupId, String state) {}
