package io.moecast.cli;

import io.moecast.UserError;
import io.moecast.trace.TraceMeta;
import io.moecast.trace.TraceReader;
import io.moecast.trace.TraceSummary;
import io.moecast.trace.TraceWriter;
import io.moecast.trace.Traces;
import io.moecast.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code moecast trace info|convert|merge}. */
@Command(name = "trace", mixinStandardHelpOptions = true,
        description = "Inspect, convert and merge load traces (.npy/.npz, .csv, .jsonl, optionally .gz).",
        subcommands = {TraceCommand.Info.class, TraceCommand.Convert.class, TraceCommand.Merge.class})
public final class TraceCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "info", mixinStandardHelpOptions = true,
            description = "Shape, steps, routed tokens per step and per-layer imbalance (start, middle, end).")
    static final class Info implements Runnable {
        @Parameters(paramLabel = "FILE", description = "Trace file (.npy, .npz, .csv, .jsonl, optionally .gz).")
        Path file;

        @Mixin
        OutputOptions output;

        @Override
        public void run() {
            try (TraceReader r = Traces.open(file)) {
                TraceSummary s = TraceSummary.of(r);
                output.emit("trace-info", "trace-info", s.toMap(), s::toText, System.out);
            } catch (IOException e) {
                throw UserError.inFile(file, "", "cannot read: " + e.getMessage());
            }
        }
    }

    @Command(name = "convert", mixinStandardHelpOptions = true,
            description = "Convert a trace to another format (chosen by OUT's extension), metadata sidecar included.")
    static final class Convert implements Runnable {
        @Parameters(index = "0", paramLabel = "IN")
        Path in;

        @Parameters(index = "1", paramLabel = "OUT", description = "Output: .npy, .npz, .csv (wide), .jsonl, optionally .gz.")
        Path out;

        @Option(names = "--csv-long", description = "Write CSV in long form (step,layer,expert,tokens) instead of wide.")
        boolean csvLong;

        @Override
        public void run() {
            checkDistinct(List.of(in), out);
            try (TraceReader r = Traces.open(in);
                 TraceWriter w = Traces.writer(out, r.meta(), r.layers(), r.experts(), r.firstStep(), csvLong);
                 Progress p = Progress.start("convert", r.steps())) {
                int[] step = new int[r.layers() * r.experts()];
                long n = 0;
                while (r.next(step)) {
                    w.write(step);
                    p.step(1);
                    n++;
                }
                if (n == 0) {
                    throw UserError.inFile(in, "", "the trace has no steps");
                }
                w.commit();
                System.out.printf("wrote %s (%d steps x %d layers x %d experts)%n", out, n, r.layers(), r.experts());
            } catch (IOException e) {
                throw new UserError(out + ": cannot write: " + e.getMessage(), e);
            }
        }
    }

    @Command(name = "merge", mixinStandardHelpOptions = true,
            description = "Concatenate trace chunks along steps (e.g. the recorder's chunk files) into one trace.")
    static final class Merge implements Runnable {
        @Parameters(arity = "2..*", paramLabel = "FILE", description = "IN... OUT: the chunks in step order, then the output.")
        List<Path> files;

        @Option(names = "--csv-long", description = "Write CSV in long form.")
        boolean csvLong;

        @Override
        public void run() {
            List<Path> ins = files.subList(0, files.size() - 1);
            Path out = files.getLast();
            checkDistinct(ins, out);
            TraceWriter w = null;
            try (Progress p = Progress.start("merge", ins.size())) {
                int layers = -1;
                int experts = -1;
                long nextStep = 0;
                long total = 0;
                for (Path in : ins) {
                    try (TraceReader r = Traces.open(in)) {
                        if (w == null) {
                            layers = r.layers();
                            experts = r.experts();
                            nextStep = r.firstStep();
                            TraceMeta meta = r.meta().copy();
                            w = Traces.writer(out, meta, layers, experts, r.firstStep(), csvLong);
                        } else {
                            if (r.layers() != layers || r.experts() != experts) {
                                throw UserError.inFile(in, "", "shape " + r.layers() + " layers x " + r.experts()
                                        + " experts does not match the first chunk (" + layers + " x " + experts + ")");
                            }
                            if (r.firstStep() != nextStep && r.firstStep() != 0) {
                                throw UserError.inFile(in, "step " + r.firstStep(), "chunk starts at step " + r.firstStep()
                                        + " but the previous chunk ended at step " + (nextStep - 1) + " (give the chunks in step order, without gaps)");
                            }
                        }
                        long n = Traces.copy(r, w);
                        nextStep += n;
                        total += n;
                    }
                    p.step(1);
                }
                w.commit();
                System.out.printf("wrote %s (%d steps from %d files)%n", out, total, ins.size());
            } catch (IOException e) {
                throw new UserError(out + ": cannot write: " + e.getMessage(), e);
            } finally {
                if (w != null) {
                    try {
                        w.close();
                    } catch (IOException ignored) {
                        // temporary output removed
                    }
                }
            }
        }
    }

    static void checkDistinct(List<Path> ins, Path out) {
        for (Path in : ins) {
            try {
                if (Files.exists(out) && Files.exists(in) && Files.isSameFile(in, out)) {
                    throw UserError.inFile(out, "", "output is the same file as an input");
                }
            } catch (IOException ignored) {
                // checked again when opened
            }
        }
    }
}
