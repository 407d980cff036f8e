package io.raftline.deploy.soak;

import java.util.List;

/**
 * One property the soak checks over its {@link Evidence}. {@link Checks#standard()} lists the built-in
 * ones; a new property (say, transactions) is one more implementation added to that list, and its
 * result shows up in the summary and in the exit code without further wiring.
 */
public interface Check {
  /** Short name, used as the summary's row label. */
  String name();

  Result run(Evidence evidence);

  /** How a check ended. NOT_CHECKED and INFO never fail a run; FAIL does. */
  enum Status {
    PASS, FAIL, INFO, NOT_CHECKED
  }

  /**
   * @param violations how many cases broke the property (0 unless FAIL)
   * @param summary one line for the summary
   * @param examples a few offending cases, for the report
   */
  record Result(String name, Status status, long violations, String summary, List<String> examples) {
    public Result {
      examples = List.copyOf(examples);
    }

    public boolean failed() {
      return status == Status.FAIL;
    }

    static Result of(String name, long violations, String okSummary, String failSummary, List<String> examples) {
      return violations == 0 ? new Result(name, Status.PASS, 0, okSummary, List.of())
          : new Result(name, Status.FAIL, violations, failSummary, examples);
    }

    static Result notChecked(String name, String why) {
      return new Result(name, Status.NOT_CHECKED, 0, "not checked: " + why, List.of());
    }
  }
}
