package io.raftline.deploy;

/** A configuration problem, with a message that names the key and what is allowed. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
