package io.raftline.deploy.soak;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The soak's history file: one line per event, tab-separated, in the order the harness saw them.
 *
 * <pre>
 *   # raftline soak history; seed=7 topology=combined3 start=1700000000000 (epoch ms); times are ms since start
 *   time  process  kind   topic  partition  offset  value     detail
 *   1234  p1       send   soak   -1         -1      p1-17     key=k17
 *   1250  p1       ack    soak   2          40      p1-17     -
 *   1300  p2       fail   soak   -1         -1      p2-3      REQUEST_TIMED_OUT: ...
 *   1400  live     read   soak   0          12      p2-1      -
 *   5000  nemesis  fault   -      -1         -1      -         kill-leader start node=2 partitions=[0]
 * </pre>
 *
 * Kinds: {@code send} (a record handed to the producer), {@code ack} (its acks=all acknowledgement:
 * partition and offset), {@code fail} (the send failed for good; the record may or may not be stored),
 * {@code read} (a consumer read it at partition/offset; process {@code live} during the run, {@code final}
 * at the end), {@code fault} (the nemesis: detail starts with the fault kind, then {@code start} or
 * {@code end}, then what was done), {@code commit} (a consumer group's committed offset for the partition as
 * the consumer saw it, committed or fetched back; value = the group id; no workload emits it yet),
 * {@code assign} and {@code release} (a group member was given a partition, or gave it up: revoked or
 * lost, as the detail says; value = the group id). A missing number is {@code -1}, a missing text {@code -}. Values and
 * details never hold tabs or line breaks (they are replaced by spaces). Lines starting with {@code #} are
 * comments.
 */
public final class History implements AutoCloseable {
  /** What an event records. */
  public enum Kind {
    SEND, ACK, FAIL, READ, COMMIT, FAULT, ASSIGN, RELEASE;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    static Kind parse(String s) {
      return valueOf(s.toUpperCase(java.util.Locale.ROOT));
    }
  }

  /** One line of the history. */
  public record Event(long time, String process, Kind kind, String topic, int partition, long offset, String value,
      String detail) {

    String toLine() {
      return time + "\t" + clean(process) + "\t" + kind.label() + "\t" + clean(topic) + "\t" + partition + "\t" + offset
          + "\t" + clean(value) + "\t" + clean(detail);
    }

    static Event parse(String line) {
      String[] f = line.split("\t", -1);
      if (f.length != 8) {
        throw new IllegalArgumentException("a history line has 8 tab-separated fields, not " + f.length + ": " + line);
      }
      return new Event(Long.parseLong(f[0]), f[1], Kind.parse(f[2]), f[3], Integer.parseInt(f[4]),
          Long.parseLong(f[5]), f[6], f[7]);
    }

    private static String clean(String s) {
      if (s == null || s.isEmpty()) {
        return "-";
      }
      return s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    }
  }

  private final Path file;
  private final long start;
  private final BufferedWriter out;
  private long lines;
  private boolean closed;

  private History(Path file, long start, BufferedWriter out) {
    this.file = file;
    this.start = start;
    this.out = out;
  }

  /** Creates (or replaces) {@code file}; times are counted from now. */
  public static History create(Path file, String header) throws IOException {
    long start = System.currentTimeMillis();
    BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    out.write("# raftline soak history; " + header + " start=" + start + " (epoch ms); times are ms since start\n");
    out.write("# time\tprocess\tkind\ttopic\tpartition\toffset\tvalue\tdetail\n");
    return new History(file, start, out);
  }

  public Path file() {
    return file;
  }

  /** Epoch milliseconds of time 0. */
  public long start() {
    return start;
  }

  /** Milliseconds since the start, as events record it. */
  public long now() {
    return System.currentTimeMillis() - start;
  }

  /** Appends an event stamped now; safe from any thread. */
  public Event record(String process, Kind kind, String topic, int partition, long offset, String value,
      String detail) {
    Event e = new Event(now(), process, kind, topic, partition, offset, value, detail);
    write(e);
    return e;
  }

  public Event fault(String detail) {
    return record("nemesis", Kind.FAULT, null, -1, -1, null, detail);
  }

  // Locked: events come from the client's event loops and from the nemesis and probe threads at once.
  synchronized void write(Event e) {
    if (closed) {
      return;
    }
    try {
      out.write(e.toLine());
      out.write('\n');
      if (++lines % 1024 == 0) {
        out.flush();
      }
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
  }

  public synchronized void flush() throws IOException {
    if (!closed) {
      out.flush();
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (!closed) {
      closed = true;
      out.close();
    }
  }

  /** Streams the events of a history file, in file order. */
  public static void read(Path file, Consumer<Event> sink) throws IOException {
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while ((line = in.readLine()) != null) {
        if (!line.isEmpty() && line.charAt(0) != '#') {
          sink.accept(Event.parse(line));
        }
      }
    }
  }

  /** Every event of a history file (for tests and small files). */
  public static List<Event> readAll(Path file) throws IOException {
    List<Event> events = new ArrayList<>();
    read(file, events::add);
    return events;
  }
}
