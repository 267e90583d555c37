package io.moecast.routing.cuda;

import io.moecast.routing.Precision;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScalarRouter;
import io.moecast.routing.ScoringMode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA router against the scalar reference. Needs a GPU: without one every test is reported as skipped
 * (the probe's one-line reason is printed once), and CudaSupportTest checks the probe instead.
 */
@EnabledIf(value = "gpu", disabledReason = "no usable CUDA GPU on this machine (CudaSupport.availability())")
class CudaRouterTest {
    static CudaRouter cuda;

    static boolean gpu() {
        CudaSupport.Availability a = CudaSupport.availability();
        if (!a.available()) {
            System.out.println("CudaRouterTest skipped: " + a.message());
        }
        return a.available();
    }

    @BeforeAll
    static void open() {
        cuda = CudaRouter.create();
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    @Test
    void matchesReferenceOnRandomAndAdversarialCases() {
        ScalarRouter ref = new ScalarRouter();
        List<String> failures = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            for (CheckCases.Case c : CheckCases.generate(99, 400, 1024)) {
                GpuCheck.Expected e = GpuCheck.expected(ref, c, arena);
                for (String path : List.of(c.precision() == Precision.F32 ? "heap" : "segment", "device")) {
                    String d = GpuCheck.compare(c, e, GpuCheck.actual(cuda, c, path, arena));
                    if (d != null) {
                        failures.add(c + " via " + path + ": " + d);
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures, first: " + (failures.isEmpty() ? "" : failures.get(0)));
    }

    @Test
    void batchesLargerThanOneStagingChunk() {
        int T = 300_000;
        int E = 64;
        float[] x = new float[T * E];
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextInt(9) - 4;   // many ties
        }
        RoutingSpec spec = RoutingSpec.of(E, 2, ScoringMode.SOFTMAX_TOPK);
        RoutingOutput a = new RoutingOutput();
        RoutingOutput b = new RoutingOutput();
        new ScalarRouter().route(x, T, spec, a);
        cuda.route(x, T, spec, b);
        assertArrayEquals(java.util.Arrays.copyOf(a.ids(), T * 2), java.util.Arrays.copyOf(b.ids(), T * 2));
        assertArrayEquals(a.counts(), b.counts());
    }

    @Test
    void fusedGateIsBitIdentical() {
        int T = 333;
        int d = 96;
        int E = 64;
        SplittableRandom r = new SplittableRandom(11);
        float[] x = new float[T * d];
        float[] w = new float[d * E];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.1);
        }
        RoutingSpec spec = RoutingSpec.of(E, 4, ScoringMode.TOPK_SOFTMAX);
        RoutingOutput a = new RoutingOutput();
        RoutingOutput b = new RoutingOutput();
        new ScalarRouter().routeHidden(x, w, T, d, spec, a);
        cuda.routeHidden(x, w, T, d, spec, b);
        assertArrayEquals(java.util.Arrays.copyOf(a.ids(), T * 4), java.util.Arrays.copyOf(b.ids(), T * 4));
        assertArrayEquals(a.counts(), b.counts());
        for (int i = 0; i < T * 4; i++) {
            assertEquals(a.weights()[i], b.weights()[i], 1e-6 + 3e-5 * a.weights()[i]);
        }
    }
}
