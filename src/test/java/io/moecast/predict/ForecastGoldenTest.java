package io.moecast.predict;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forecasts of {@code auto}, {@code sw-avg}, {@code ema} and {@code kalman} are pinned
 * ({@link GoldenForecasts}: means, upper bounds and single steps at horizons 1, 7, 100 and 1,000, at
 * checkpoints along the bundled trace and a synthetic 58 × 256 run with state changes) to what they
 * were before their per-step cost was cut ({@code golden-forecasts.txt}, two weighted sums per output
 * vector): the speed-ups must not change a forecast.
 *
 * <p>The last bits of some forecasts vary from one run of the same code to the next: while the JIT has
 * not yet compiled a Vector API method, its reductions add the lanes in another order, so values
 * depend on when compilation happens (on auto, up to ~1e-9 relative, once 6e-7; and an early upper
 * bound, a quantile of few values, can then jump by 1e-4 in a JVM that compiled in another order).
 * So the forecasts are made in a fresh JVM with {@code -Xbatch} (compilation in the foreground, at
 * fixed points), as they were recorded, and compared within 1e-6 relative. The speed-ups themselves
 * were checked bit for bit: under {@code -Xbatch} the raw outputs of {@code GoldenForecasts dump} are
 * identical before and after. Recorded on AVX-512 (8 doubles, 16 floats per vector); skipped on other
 * vector widths, whose reductions round differently. Regenerate (only for a deliberate change of
 * forecasts) with {@code java --add-modules=jdk.incubator.vector -Xbatch
 * -cp target/moecast.jar:target/test-classes io.moecast.predict.GoldenForecasts checksums}.
 */
class ForecastGoldenTest {
    static final String SHAPE = "8d16f";
    static final double TOLERANCE = 1e-6;

    @Test
    void forecastsAreUnchanged() throws IOException, InterruptedException {
        Assumptions.assumeTrue(SHAPE.equals(GoldenForecasts.vectorShape()),
                "golden values recorded with vector shape " + SHAPE + ", this machine has " + GoldenForecasts.vectorShape());
        List<String> want = new ArrayList<>();
        try (InputStream in = ForecastGoldenTest.class.getResourceAsStream("golden-forecasts.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    want.add(line.trim());
                }
            }
        }
        // a fresh JVM with compilation at fixed points: the JIT state the values were recorded in
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(List.of(io.moecast.Build.jvmFlags()));
        cmd.addAll(List.of("-Xbatch", "-Xmx1g", "-Dmoecast.repo=" + GoldenForecasts.repo(),
                "-cp", System.getProperty("java.class.path"), GoldenForecasts.class.getName(), "checksums"));
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(5, TimeUnit.MINUTES), "child JVM timed out");
        assertEquals(0, proc.exitValue(), out);
        List<String> got = new ArrayList<>();
        for (String line : out.split("\\R")) {
            if (line.startsWith("trace/") || line.startsWith("synthetic/")) {
                got.add(line.trim());
            }
        }
        assertEquals(want.size(), got.size(), "output vectors");
        int checked = 0;
        for (int i = 0; i < want.size(); i++) {
            String[] w = want.get(i).split(" ");
            String[] g = got.get(i).split(" ");
            assertEquals(w[0] + " " + w[1], g[0] + " " + g[1]);
            for (int k = 2; k < 4; k++) {
                double a = Double.parseDouble(w[k]);
                double b = Double.parseDouble(g[k]);
                assertTrue(Math.abs(a - b) <= TOLERANCE * Math.abs(a), w[0] + " vector " + w[1] + ": " + b + " != " + a);
                checked++;
            }
        }
        assertEquals(4 * (GoldenForecasts.TRACE_CHECKPOINTS.length + GoldenForecasts.SYNTH_CHECKPOINTS.length) * 15 * 2, checked);
    }
}
