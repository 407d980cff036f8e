package io.raftline.client;

/**
 * One configuration key as described by the cluster, with where its value comes from
 * (DYNAMIC_TOPIC_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, DEFAULT_CONFIG, ...).
 */
public record ConfigEntry(String name, String value, String source) {}
