package io.raftline.broker.group;

/** A broker as clients reach it: the answer to FindCoordinator. */
public record CoordinatorNode(int nodeId, String host, int port) {}
