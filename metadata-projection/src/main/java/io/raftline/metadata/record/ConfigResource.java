package io.raftline.metadata.record;

/**
 * What a configuration belongs to. A BROKER resource with an empty name holds cluster-wide broker
 * defaults.
 */
public record ConfigResource(Type type, String name) {
  public enum Type { TOPIC, BROKER }

  public ConfigResource {
    name = name == null ? "" : name;
  }
}
