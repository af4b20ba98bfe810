package dev.loupe.errors;

/**
 * Input a user gave is wrong (a file, a field of a request, an option), as opposed to a bug in Loupe. Front ends
 * show its message as it is: the web answers it with a 400, the CLI prints it as its one line and exits 2. Any
 * other exception is treated as a bug (a 500 with a generic message, "internal error" on the command line), so a
 * check on input must throw this one, not a plain {@link IllegalArgumentException}.
 *
 * <p>It extends {@link IllegalArgumentException} so that code catching that (to add context, to fall back) keeps
 * working. Library code names its own parameters or fields, never a CLI flag: {@link #parameter()} carries that
 * name so a front end can say it its own way ({@code --token-ids} for the library's {@code tokens}).
 */
public class BadInputException extends IllegalArgumentException {
    private final String parameter;
    private final String problem;

    /** Input that is wrong as a whole, or whose message already names what is wrong (a file, a field). */
    public BadInputException(String message) { this(null, message, null); }

    public BadInputException(String message, Throwable cause) { this(null, message, cause); }

    /**
     * @param parameter the library parameter or request field at fault, or null; the message reads
     *                  {@code "parameter: problem"} when it is given
     */
    protected BadInputException(String parameter, String problem, Throwable cause) {
        super(parameter == null ? problem : parameter + ": " + problem, cause);
        this.parameter = parameter;
        this.problem = problem;
    }

    /** The value of {@code parameter} is wrong: {@code problem} says what was expected (and what came). */
    public static BadInputException of(String parameter, String problem) {
        return new BadInputException(requireName(parameter), problem, null);
    }

    public static BadInputException of(String parameter, String problem, Throwable cause) {
        return new BadInputException(requireName(parameter), problem, cause);
    }

    /** The parameter or field at fault, or null when the message names what is wrong by itself. */
    public String parameter() { return parameter; }

    /** The message without the parameter's name in front. */
    public String problem() { return problem; }

    /**
     * The same problem under the name a front end shows for the parameter (a flag, a JSON field); the result keeps
     * this exception as its cause so that the stack trace still shows where it came from.
     */
    public BadInputException renamed(String name) { return new BadInputException(requireName(name), problem, this); }

    private static String requireName(String name) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a parameter name is required");
        return name;
    }
}
