package io.raftline.metadata.record;

/** A listener of a broker: its name (e.g. PLAINTEXT), host and port. */
public record BrokerEndpoint(String listenerName, String host, int port) {}
