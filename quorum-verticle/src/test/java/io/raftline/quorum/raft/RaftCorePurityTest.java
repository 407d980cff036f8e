package io.raftline.quorum.raft;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the Raft core pure: its sources may not import or name IO, networking, concurrency, Vert.x, the
 * wall clock, threads or self-seeded randomness, nor use hash-ordered collections whose iteration order
 * differs between JVM runs (that would make a simulation seed replay differently). The test scans the
 * main sources of this package with comments and string literals blanked out, so a word in a javadoc
 * does not trip it. ArchUnit is not on this module's classpath; a scan is enough for one package.
 */
class RaftCorePurityTest {

  private static final String PACKAGE_DIR = "src/main/java/io/raftline/quorum/raft";

  private record Rule(Pattern pattern, String why) {}

  private static final List<Rule> RULES = List.of(
      rule("import\\s+(static\\s+)?io\\.vertx\\b", "imports Vert.x"),
      rule("\\bio\\.vertx\\.", "names a Vert.x type"),
      rule("import\\s+(static\\s+)?java\\.(io|nio|net)\\b", "imports java.io/java.nio/java.net"),
      rule("\\bjava\\.(io|nio|net)\\.", "names a java.io/java.nio/java.net type"),
      rule("import\\s+(static\\s+)?java\\.util\\.concurrent\\b", "imports java.util.concurrent"),
      rule("\\bjava\\.util\\.concurrent\\.", "names a java.util.concurrent type"),
      rule("import\\s+(static\\s+)?java\\.time\\b", "imports java.time (time must come in as nowMs)"),
      rule("System\\s*\\.\\s*(currentTimeMillis|nanoTime)\\b", "reads the clock"),
      rule("\\bThread\\b", "uses threads"),
      rule("\\bsynchronized\\b", "synchronizes (the core is single-threaded)"),
      rule("\\bExecutors?\\b", "uses executors"),
      rule("new\\s+(java\\.util\\.)?Random\\s*\\(", "creates its own Random (inject a RandomGenerator)"),
      rule("\\b(SecureRandom|ThreadLocalRandom)\\b", "uses a non-injected random source"),
      rule("Math\\s*\\.\\s*random\\b", "uses Math.random"),
      rule("RandomGenerator\\s*\\.\\s*(of|getDefault)\\b", "creates its own RandomGenerator"),
      rule("\\bHash(Map|Set)\\b", "uses a hash-ordered collection (use TreeMap/TreeSet/ArrayList)"),
      rule("\\b(Set|Map)\\s*\\.\\s*(of|copyOf)\\s*\\(", "uses Set.of/Map.of, whose iteration order varies per JVM run"));

  private static Rule rule(String regex, String why) {
    return new Rule(Pattern.compile(regex), why);
  }

  @Test
  void coreSourcesImportNoIoClockThreadsOrUnseededRandomness() throws IOException {
    Path dir = locate();
    List<Path> sources;
    try (Stream<Path> s = Files.list(dir)) {
      sources = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
    }
    assertTrue(sources.stream().anyMatch(p -> p.getFileName().toString().equals("RaftNode.java")),
        "scan found no RaftNode.java in " + dir.toAbsolutePath());
    List<String> problems = new ArrayList<>();
    for (Path src : sources) {
      String code = blankCommentsAndStrings(Files.readString(src, StandardCharsets.UTF_8));
      for (Rule r : RULES) {
        Matcher m = r.pattern().matcher(code);
        while (m.find()) {
          problems.add(src.getFileName() + ":" + lineOf(code, m.start()) + " " + r.why() + ": '" + m.group() + "'");
        }
      }
    }
    if (!problems.isEmpty()) fail("The Raft core must stay pure:\n  " + String.join("\n  ", problems));
  }

  @Test
  void scannerSeesThroughCommentsButNotCode() {
    String code = blankCommentsAndStrings("""
        // Thread in a comment
        /* System.nanoTime() in a block */ String s = "java.io.File";
        import java.io.File;
        """);
    assertTrue(!code.contains("Thread") && !code.contains("nanoTime") && !code.contains("\"java.io"), code);
    assertTrue(RULES.get(2).pattern().matcher(code).find(), "a real import is still seen");
  }

  /** The package's main sources, whether the test runs from the module or from the repository root. */
  private static Path locate() {
    for (String candidate : new String[] {PACKAGE_DIR, "quorum-verticle/" + PACKAGE_DIR}) {
      Path p = Path.of(candidate);
      if (Files.isDirectory(p)) return p;
    }
    String basedir = System.getProperty("basedir");
    if (basedir != null && Files.isDirectory(Path.of(basedir, PACKAGE_DIR))) return Path.of(basedir, PACKAGE_DIR);
    fail("cannot find " + PACKAGE_DIR + " from " + Path.of("").toAbsolutePath());
    return null;
  }

  /** Replaces comments, string/char literals and text blocks by spaces, keeping line breaks. */
  static String blankCommentsAndStrings(String src) {
    StringBuilder out = new StringBuilder(src.length());
    int i = 0;
    int n = src.length();
    while (i < n) {
      char c = src.charAt(i);
      if (c == '/' && i + 1 < n && src.charAt(i + 1) == '/') {
        while (i < n && src.charAt(i) != '\n') {
          out.append(' ');
          i++;
        }
      } else if (c == '/' && i + 1 < n && src.charAt(i + 1) == '*') {
        int end = src.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
        blank(src, i, end, out);
        i = end;
      } else if (src.startsWith("\"\"\"", i)) {
        int end = src.indexOf("\"\"\"", i + 3);
        end = end < 0 ? n : end + 3;
        blank(src, i, end, out);
        i = end;
      } else if (c == '"' || c == '\'') {
        int j = i + 1;
        while (j < n && src.charAt(j) != c && src.charAt(j) != '\n') j += src.charAt(j) == '\\' ? 2 : 1;
        int end = Math.min(n, j + 1);
        blank(src, i, end, out);
        i = end;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  private static void blank(String src, int from, int to, StringBuilder out) {
    for (int k = from; k < to; k++) out.append(src.charAt(k) == '\n' ? '\n' : ' ');
  }

  private static int lineOf(String s, int index) {
    int line = 1;
    for (int k = 0; k < index; k++) if (s.charAt(k) == '\n') line++;
    return line;
  }
}
