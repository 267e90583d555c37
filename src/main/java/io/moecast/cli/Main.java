package io.moecast.cli;

import io.moecast.Build;
import io.moecast.UserError;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * The {@code moecast} command line. Bad input (files, options) prints one line naming the file or
 * option and the problem, and exits with code 2; an internal error exits with 1.
 */
@Command(name = "moecast",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Expert-load traces of mixture-of-experts models: routing kernels, state analysis, "
                + "forecasts, placement and step-time budgets.",
        subcommands = {
                RunCommand.class,
                TraceCommand.class,
                EvaluateCommand.class,
                RouteCommand.class,
                BenchCommand.class,
                AnalyzeCommand.class,
                SimulateCommand.class,
                PlaceCommand.class,
                BudgetCommand.class,
                CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    public static final int EXIT_USER_ERROR = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns the exit code (tests call this). */
    public static int execute(String... args) {
        return commandLine().execute(args);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("moecast: " + firstLine(ex.getMessage()) + " (see '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            err.flush();
            return EXIT_USER_ERROR;
        });
        cl.setExecutionExceptionHandler((ex, c, parse) -> {
            Throwable t = ex;
            while (!(t instanceof UserError) && t.getCause() != null && (t instanceof UncheckedIOException || t instanceof java.util.concurrent.ExecutionException || t instanceof java.util.concurrent.CompletionException)) {
                t = t.getCause();
            }
            PrintWriter err = c.getErr();
            if (t instanceof UserError) {
                err.println("moecast: " + firstLine(t.getMessage()));
                err.flush();
                return EXIT_USER_ERROR;
            }
            err.println("moecast: internal error: " + ex);
            ex.printStackTrace(err);
            err.flush();
            return 1;
        });
        return cl;
    }

    static String firstLine(String s) {
        if (s == null) {
            return "error";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).trim();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"moecast " + Build.version() + " (JDK " + Runtime.version() + ")"};
        }
    }
}
