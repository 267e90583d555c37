package io.moecast;

/**
 * A problem with what the user gave us: a file, an option, a shape. The CLI prints {@link #getMessage()}
 * as one line and exits with code 2, without a stack trace. The message names the file or option, the
 * position where it applies (byte, line, step) and the problem.
 */
public class UserError extends RuntimeException {
    public UserError(String message) {
        super(message, null, false, false);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause, false, false);
    }

    /** "FILE: WHERE: PROBLEM", the shape of every message about a file. */
    public static UserError inFile(Object file, String where, String problem) {
        return new UserError(where == null || where.isEmpty()
                ? file + ": " + problem
                : file + ": " + where + ": " + problem);
    }

    /** "--option: PROBLEM", the shape of every message about an option. */
    public static UserError option(String option, String problem) {
        return new UserError(option + ": " + problem);
    }
}
