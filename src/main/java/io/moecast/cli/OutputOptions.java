package io.moecast.cli;

import io.moecast.report.ResultsWriter;
import io.moecast.util.Json;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.function.Supplier;

/** {@code --json} and {@code --out DIR}, shared by every command that prints results. */
public final class OutputOptions {
    @Option(names = "--json", description = "Print machine-readable JSON (with machine and commit) instead of text.")
    public boolean json;

    @Option(names = "--out", paramLabel = "DIR", description = "Also write the result files into DIR (commands that make charts default to runs/<command>-<time>/).")
    public Path out;

    /** The results folder: --out, or a fresh runs/ folder. */
    public ResultsWriter results(String command) {
        return ResultsWriter.open(command, out);
    }

    /** The results folder only when --out was given, else null. */
    public ResultsWriter resultsIfRequested(String command) {
        return out == null ? null : ResultsWriter.open(command, out);
    }

    /**
     * Prints a result: JSON when --json, else the text; with --out, also writes {@code <name>.json}
     * and {@code <name>.md} there.
     */
    public void emit(String command, String name, Object result, Supplier<String> text, PrintStream stdout) {
        ResultsWriter w = resultsIfRequested(command);
        String body = text.get();
        if (w != null) {
            w.writeJson(name + ".json", result);
            w.writeText(name + ".md", body);
        }
        if (json) {
            print(ResultsWriter.envelope(command, result), stdout);
        } else {
            stdout.print(body);
            stdout.flush();
        }
    }

    public static void print(Object doc, PrintStream stdout) {
        try {
            stdout.println(Json.MAPPER.writeValueAsString(doc));
            stdout.flush();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
