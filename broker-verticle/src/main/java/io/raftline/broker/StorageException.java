package io.raftline.broker;

/** A partition whose log cannot be used (failed to open, closed, or an IO error): KAFKA_STORAGE_ERROR. */
final class StorageException extends RuntimeException {
  StorageException(String message) {
    super(message);
  }
}
