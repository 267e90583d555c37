package io.moecast.bench;

import io.moecast.routing.Router;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.Routers;
import io.moecast.routing.ScalarRouter;
import io.moecast.routing.ScoringMode;
import io.moecast.routing.SyntheticLogits;

import java.util.SplittableRandom;

/** Shared set-up for the routing benchmarks: data, router choice, and the "vector == scalar" check. */
public final class BenchData {
    private BenchData() {
    }

    /** Router logits: N(0, 1) per element, fixed seed (what a trained router's logits roughly look like). */
    public static float[] logits(int tokens, int experts, long seed) {
        return SyntheticLogits.gaussian(tokens, experts, seed);
    }

    static double gaussian(SplittableRandom r) {
        return SyntheticLogits.next(r);
    }

    /** {@code vector-1t}, {@code vector-2t}, {@code scalar-1t}: implementation name and threads. */
    public static Router router(String impl) {
        int dash = impl.lastIndexOf('-');
        String name = impl.substring(0, dash);
        int threads = Integer.parseInt(impl.substring(dash + 1, impl.length() - 1));
        if (name.equals("scalar") && threads != 1) {
            throw new IllegalArgumentException("the scalar reference is single-threaded: " + impl);
        }
        Router r = Routers.create(name, threads);
        if (!r.name().equals(name)) {
            throw new IllegalStateException("asked for " + name + ", got " + r.name() + " (is --add-modules=jdk.incubator.vector set?)");
        }
        return r;
    }

    public static RoutingSpec spec(int experts, int k, String mode) {
        return RoutingSpec.of(experts, k, ScoringMode.parse(mode));
    }

    /**
     * Runs {@code router} and the scalar reference on the first {@code min(tokens, 16384)} tokens and throws
     * when ids, counts or weights (1e-6 relative) differ: wrong code is never measured.
     */
    public static void checkAgainstReference(Router router, float[] logits, int tokens, RoutingSpec spec) {
        int n = Math.min(tokens, 16384);
        RoutingOutput got = new RoutingOutput();
        RoutingOutput ref = new RoutingOutput();
        router.route(logits, n, spec, got);
        new ScalarRouter().route(logits, n, spec, ref);
        int slots = n * spec.k();
        for (int i = 0; i < slots; i++) {
            if (got.ids()[i] != ref.ids()[i]
                    || Math.abs(got.weights()[i] - ref.weights()[i]) > 1e-6 * Math.abs(ref.weights()[i]) + 1e-37) {
                throw new AssertionError(router.name() + " disagrees with the reference at slot " + i + " (" + spec + ")");
            }
        }
        if (!java.util.Arrays.equals(got.counts(), ref.counts())) {
            throw new AssertionError(router.name() + " counts disagree with the reference (" + spec + ")");
        }
    }

    public static void close(Object o) {
        if (o instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // benchmark teardown
            }
        }
    }
}
