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
                SteerCommand.class,
                EvalSaeCommand.class,
                SynthSaeCommand.class,
                BenchSaeCommand.class,
                IndexCommand.class,
                FeaturesCommand.class,
        })
public final class Main implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.out); }

    public static void main(String[] args) { System.exit(execute(args)); }

    /** Runs the command line and returns its exit code (tests call this instead of main). */
    public static int execute(String... args) {
        // Arrow logs through SLF4J; without a binding SLF4J prints a warning on every start.
        if (System.getProperty("slf4j.internal.verbosity") == null) System.setProperty("slf4j.internal.verbosity", "ERROR");
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (Boolean.getBoolean("loupe.trace")) ex.printStackTrace();
            cmd.getErr().println("loupe " + cmd.getCommandName() + ": " + Errors.oneLine(ex));
            return 1;
        });
        return cl.execute(args);
    }
}
