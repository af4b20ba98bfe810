package dev.loupe.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code loupe} command. Errors from bad input print one line, never a stack trace. */
@Command(name = "loupe", mixinStandardHelpOptions = true, version = "loupe 0.1.0",
        description = "Look inside Gemma 2 with hook points and sparse autoencoders.",
        subcommands = {
                CommandLine.HelpCommand.class,
                SynthCommand.class,
                TokenizeCommand.class,
                RunCommand.class,
                GenerateCommand.class,
                BenchCommand.class,
                EncodeCommand.class,
                TraceCommand.class,
                GradCommand.class,
                AttributeCommand.class,
                SteerCommand.class,
                EvalSaeCommand.class,
                SynthSaeCommand.class,
                BenchSaeCommand.class,
                TrainSaeCommand.class,
                TrainLmCommand.class,
                IndexCommand.class,
                FeaturesCommand.class,
                ExportCommand.class,
                ExplainCommand.class,
                ImportExplanationsCommand.class,
                ServeCommand.class,
                ShieldCommand.class,
        })
public final class Main implements java.util.concurrent.Callable<Integer> {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** {@code loupe} alone: a command is missing, so the usage goes to stderr and the exit code says it failed. */
    @Override public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return spec.exitCodeOnInvalidInput();
    }

    public static void main(String[] args) { System.exit(execute(args)); }

    /**
     * Runs the command line and returns its exit code (tests call this instead of main). Whatever goes wrong,
     * including JVM errors (out of memory, a fault in a memory-mapped file, stack overflow), prints one line;
     * {@code -Dloupe.trace=true} adds the stack trace. Wrong input exits 2, any other failure 1 ({@link Errors}).
     */
    public static int execute(String... args) { return execute(new CommandLine(new Main()), args); }

    /** Runs {@code args} on a command tree built from {@link Main} (tests add subcommands to it). */
    static int execute(CommandLine cl, String... args) {
        // Arrow logs through SLF4J; without a binding SLF4J prints a warning on every start.
        if (System.getProperty("slf4j.internal.verbosity") == null) System.setProperty("slf4j.internal.verbosity", "ERROR");
        cl.setHelpFactory(WordWrappedHelp.FACTORY);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> fail(cmd, ex));
        cl.setParameterExceptionHandler((ex, badArgs) -> {
            CommandLine cmd = ex.getCommandLine();
            if (Boolean.getBoolean("loupe.trace")) ex.printStackTrace();
            String hint = ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()
                    ? "; did you mean " + String.join(" or ", u.getSuggestions()) + "?" : "";
            cmd.getErr().println(qualifiedName(cmd) + ": " + Errors.oneLine(ex) + hint + " (see '" + qualifiedName(cmd) + " --help')");
            cmd.getErr().flush();
            return cmd.getCommandSpec().exitCodeOnInvalidInput();
        });
        try {
            return cl.execute(args);
        } catch (Throwable t) {
            // picocli hands only Exceptions to the handler above; Errors (OutOfMemoryError, InternalError,
            // StackOverflowError) propagate out of execute.
            CommandLine cmd = cl.getParseResult() == null ? cl : deepest(cl.getParseResult());
            return fail(cmd, t);
        }
    }

    /** One line for {@code t} ({@link Errors#of}: wrong input exits 2, anything else 1). */
    private static int fail(CommandLine cmd, Throwable t) {
        if (Boolean.getBoolean("loupe.trace")) t.printStackTrace();
        Errors.Failure f = Errors.of(t, cmd);
        cmd.getErr().println(qualifiedName(cmd) + ": " + f.line());
        cmd.getErr().flush();
        return f.exitCode();
    }

    private static CommandLine deepest(CommandLine.ParseResult r) {
        while (r.hasSubcommand()) r = r.subcommand();
        return r.commandSpec().commandLine();
    }

    /** "loupe run", or "loupe" for the top level. */
    private static String qualifiedName(CommandLine cmd) { return cmd.getCommandSpec().qualifiedName(" "); }
}
