package io.raftline.metadata;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** A controller quorum voter, as named in {@code controller.quorum.voters}: {@code id@host:port}. */
public record QuorumVoter(int id, String host, int port) {

  /**
   * Parses {@code 1@host:port,2@host:port}.
   *
   * @throws IllegalArgumentException naming the entry that is malformed
   */
  public static List<QuorumVoter> parseList(String value) {
    List<QuorumVoter> voters = new ArrayList<>();
    Set<Integer> ids = new HashSet<>();
    for (String raw : value.split(",")) {
      String entry = raw.trim();
      int at = entry.indexOf('@');
      int colon = entry.lastIndexOf(':');
      if (at <= 0 || colon <= at + 1 || colon == entry.length() - 1) {
        throw new IllegalArgumentException("'" + entry + "' is not of the form id@host:port");
      }
      int id;
      int port;
      try {
        id = Integer.parseInt(entry.substring(0, at));
        port = Integer.parseInt(entry.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + entry + "' is not of the form id@host:port");
      }
      if (id < 0) {
        throw new IllegalArgumentException("voter id in '" + entry + "' must be >= 0");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port in '" + entry + "' must be between 0 and 65535");
      }
      if (!ids.add(id)) {
        throw new IllegalArgumentException("voter id " + id + " appears twice");
      }
      voters.add(new QuorumVoter(id, entry.substring(at + 1, colon), port));
    }
    return List.copyOf(voters);
  }

  @Override
  public String toString() {
    return id + "@" + host + ":" + port;
  }
}
