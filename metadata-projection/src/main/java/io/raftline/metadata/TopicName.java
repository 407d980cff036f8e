package io.raftline.metadata;

import java.util.Optional;

/** Kafka's rules for a legal topic name. */
public final class TopicName {
  public static final int MAX_LENGTH = 249;

  private TopicName() {}

  /** Why {@code name} is not a legal topic name, or empty if it is. */
  public static Optional<String> problem(String name) {
    if (name == null || name.isEmpty()) {
      return Optional.of("topic name is empty");
    }
    if (name.equals(".") || name.equals("..")) {
      return Optional.of("topic name cannot be '.' or '..'");
    }
    if (name.length() > MAX_LENGTH) {
      return Optional.of("topic name is " + name.length() + " characters long; the maximum is " + MAX_LENGTH);
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '_' || c == '-';
      if (!legal) {
        return Optional.of("topic name '" + name + "' contains '" + c
            + "'; legal characters are ASCII letters, digits, '.', '_' and '-'");
      }
    }
    return Optional.empty();
  }

  /** Internal topics, hidden from listings unless asked for. */
  public static boolean isInternal(String name) {
    return name.startsWith("__");
  }
}
