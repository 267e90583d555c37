package io.moecast.predict;

import io.moecast.budget.SyntheticLoads;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.Traces;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every forecast output (means and upper bounds at several horizons, {@code forecastHorizons} means,
 * uppers and single steps) of the predictors whose cost the budget targets, at checkpoints along two
 * runs: the bundled trace (3 × 16) and a synthetic DeepSeek-V3-shaped run (58 × 256: the sampled,
 * spread-out scoring and the spaced bounds run) in which half the layers switch to other loads halfway
 * and one layer routes nothing every 97th step. {@link ForecastGoldenTest} pins a hash of them, so a
 * speed-up that changes any forecast by one bit fails.
 *
 * <p>As a program: {@code dump DIR} writes the raw values (one file per run and predictor), {@code
 * compare DIR_A DIR_B} reports how far two dumps differ, {@code hashes} prints the hashes.
 */
final class GoldenForecasts {
    static final List<String> PREDICTORS = List.of("auto", "sw-avg", "ema", "kalman");
    static final int[] HORIZONS = {1, 7, 100, 1000};
    static final int[] TRACE_CHECKPOINTS = {1, 3, 64, 333, 1000, 2500, 4000, 6000};
    static final int[] SYNTH_CHECKPOINTS = {1, 2, 100, 1000, 2999, 3001, 3500, 4200, 6000};
    static final int SYNTH_STEPS = 6000;

    /** Receives every output vector in order. */
    interface Sink {
        void accept(double[] v, int len);
    }

    private GoldenForecasts() {
    }

    static Path repo() {
        return Path.of(System.getProperty("moecast.repo", "."));
    }

    /** The bundled trace, every step, with its metadata (the Kalman noise floor). */
    static void traceRun(String predictor, Sink sink) {
        LoadTrace t = Traces.load(repo().resolve("traces/moe-gpt-jdk-e16-top2-seed1.npy"));
        PredictorContext ctx = PredictorContext.of(t.layers(), t.experts()).withMeta(t.meta());
        Predictor p = Predictors.create(predictor, ctx);
        int[] step = new int[t.layers() * t.experts()];
        int next = 0;
        for (int s = 0; s < t.steps(); s++) {
            t.copyStep(s, step);
            p.observe(t.firstStep() + s, step);
            if (next < TRACE_CHECKPOINTS.length && s + 1 == TRACE_CHECKPOINTS[next]) {
                emit(p, sink);
                next++;
            }
        }
    }

    /** 58 × 256 synthetic loads: layers 0..28 switch loads at step 3000; layer 5 routes nothing every 97th step. */
    static void syntheticRun(String predictor, Sink sink) {
        int layers = 58;
        int experts = 256;
        int n = layers * experts;
        int[][] a = new SyntheticLoads(layers, experts, 4096L * 8, 1).ring(128);
        int[][] b = new SyntheticLoads(layers, experts, 4096L * 8, 2).ring(128);
        Predictor p = Predictors.create(predictor, PredictorContext.of(layers, experts));
        int[] step = new int[n];
        int next = 0;
        for (int s = 0; s < SYNTH_STEPS; s++) {
            System.arraycopy(a[s & 127], 0, step, 0, n);
            if (s >= 3000) {
                System.arraycopy(b[s & 127], 0, step, 0, 29 * experts);
            }
            if (s % 97 == 0) {
                Arrays.fill(step, 5 * experts, 6 * experts, 0);
            }
            p.observe(10 + s, step);
            if (next < SYNTH_CHECKPOINTS.length && s + 1 == SYNTH_CHECKPOINTS[next]) {
                emit(p, sink);
                next++;
            }
        }
    }

    static void emit(Predictor p, Sink sink) {
        int n = p.layers() * p.experts();
        double[] mean = new double[n];
        double[] upper = new double[n];
        for (int h : HORIZONS) {
            p.forecast(h, mean, upper);
            sink.accept(mean, n);
            sink.accept(upper, n);
            p.forecast(h, mean, null);
            sink.accept(mean, n);
        }
        int hn = HORIZONS.length;
        double[] means = new double[hn * n];
        double[] uppers = new double[hn * n];
        double[] steps = new double[hn * n];
        p.forecastHorizons(HORIZONS, means, uppers, steps);
        sink.accept(means, hn * n);
        sink.accept(uppers, hn * n);
        sink.accept(steps, hn * n);
    }

    /** FNV-1a over the raw bits of every value. */
    static final class Hasher implements Sink {
        long h = 0xcbf29ce484222325L;
        long values;

        @Override
        public void accept(double[] v, int len) {
            for (int i = 0; i < len; i++) {
                long x = Double.doubleToRawLongBits(v[i]);
                for (int k = 0; k < 8; k++) {
                    h ^= (x >>> (8 * k)) & 0xff;
                    h *= 0x100000001b3L;
                }
            }
            values += len;
        }
    }

    /** The vector shapes the hashes were recorded with (reductions add in lane order). */
    static String vectorShape() {
        return DoubleVector.SPECIES_PREFERRED.length() + "d" + FloatVector.SPECIES_PREFERRED.length() + "f";
    }

    /**
     * Two weighted sums of every output vector (weights fixed pseudo-random in [1, 2)): what the test
     * compares, within a relative tolerance, since the last bits of some forecasts depend on when the
     * JIT compiles the Vector API code (interpreted reductions add lanes in another order).
     */
    static final class Checksums implements Sink {
        final List<double[]> sums = new java.util.ArrayList<>();

        @Override
        public void accept(double[] v, int len) {
            double a = 0;
            double b = 0;
            long x = 0x9E3779B97F4A7C15L;
            for (int i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                double w1 = 1 + (x >>> 11) * 0x1.0p-53;
                double w2 = 1 + ((x * 0xD1B54A32D192ED03L) >>> 11) * 0x1.0p-53;
                a += w1 * v[i];
                b += w2 * v[i];
            }
            sums.add(new double[] {a, b});
        }
    }

    /** "run/predictor index sum1 sum2" per output vector, every run and predictor. */
    static List<String> checksums() {
        List<String> out = new java.util.ArrayList<>();
        for (String p : PREDICTORS) {
            for (String run : List.of("trace", "synthetic")) {
                Checksums c = new Checksums();
                if (run.equals("trace")) {
                    traceRun(p, c);
                } else {
                    syntheticRun(p, c);
                }
                for (int i = 0; i < c.sums.size(); i++) {
                    out.add(run + "/" + p + " " + i + " " + Double.toHexString(c.sums.get(i)[0]) + " " + Double.toHexString(c.sums.get(i)[1]));
                }
            }
        }
        return out;
    }

    static Map<String, Long> hashes() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String p : PREDICTORS) {
            Hasher h = new Hasher();
            traceRun(p, h);
            out.put("trace/" + p, h.h);
            h = new Hasher();
            syntheticRun(p, h);
            out.put("synthetic/" + p, h.h);
        }
        return out;
    }

    public static void main(String[] args) throws IOException {
        switch (args[0]) {
            case "dump" -> {
                Path dir = Path.of(args[1]);
                Files.createDirectories(dir);
                List<String> which = args.length > 2 ? List.of(args[2].split(",")) : PREDICTORS;
                for (String p : which) {
                    dump(dir.resolve("trace-" + p + ".bin"), s -> traceRun(p, s));
                    dump(dir.resolve("synthetic-" + p + ".bin"), s -> syntheticRun(p, s));
                    System.out.println("dumped " + p);
                }
            }
            case "compare" -> {
                try (var files = Files.list(Path.of(args[1]))) {
                    for (Path f : files.sorted().toList()) {
                        compare(f, Path.of(args[2]).resolve(f.getFileName()));
                    }
                }
            }
            case "checksums" -> checksums().forEach(System.out::println);
            case "hashes" -> {
                System.out.println("vector shape " + vectorShape());
                hashes().forEach((k, v) -> System.out.printf("%s 0x%016xL%n", k, v));
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void dump(Path file, java.util.function.Consumer<Sink> run) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            run.accept((v, len) -> {
                ByteBuffer bb = ByteBuffer.allocate(len * 8).order(ByteOrder.LITTLE_ENDIAN);
                bb.asDoubleBuffer().put(v, 0, len);
                try {
                    while (bb.hasRemaining()) {
                        ch.write(bb);
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    private static void compare(Path a, Path b) throws IOException {
        double[] x = read(a);
        double[] y = read(b);
        if (x.length != y.length) {
            System.out.println(a.getFileName() + ": lengths differ " + x.length + " vs " + y.length);
            return;
        }
        long diff = 0;
        double maxRel = 0;
        double maxAbs = 0;
        for (int i = 0; i < x.length; i++) {
            if (Double.doubleToRawLongBits(x[i]) != Double.doubleToRawLongBits(y[i])) {
                diff++;
                double d = Math.abs(x[i] - y[i]);
                maxAbs = Math.max(maxAbs, d);
                maxRel = Math.max(maxRel, d / Math.max(Math.abs(x[i]), Math.abs(y[i])));
            }
        }
        System.out.printf("%s: %d values, %d differ, max abs %.3g, max rel %.3g%n", a.getFileName(), x.length, diff, maxAbs, maxRel);
    }

    private static double[] read(Path f) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        double[] v = new double[bb.remaining() / 8];
        bb.asDoubleBuffer().get(v);
        return v;
    }
}
