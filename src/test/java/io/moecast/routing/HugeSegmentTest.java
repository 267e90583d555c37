package io.moecast.routing;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A batch over 2^31 elements through the MemorySegment entry point (bf16, 4.3 GB off-heap): the rows
 * past element 2^31 route exactly as the reference routes them. Slow (allocates and scans 4.3 GB):
 * {@code mvn test -Dtest=HugeSegmentTest -Dmoecast.test.excludedGroups=none}.
 */
@Tag("slow")
class HugeSegmentTest {
    @Test
    void rowsBeyondTwoToTheThirtyOneRouteLikeTheReference() throws Exception {
        assumeTrue(Routers.vectorAvailable());
        int E = 64;
        int k = 2;
        long tokens = (1L << 31) / E + 1000;            // 2^31 + 64000 elements
        long tailFrom = tokens - 2000;                  // the last 2000 rows straddle nothing but lie past 2^31
        RoutingSpec spec = RoutingSpec.of(E, k, ScoringMode.SOFTMAX_TOPK);
        Random r = new Random(11);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment logits = arena.allocate(tokens * E * 2, 64);  // zeros: bf16 0.0 everywhere
            for (long i = tailFrom * E; i < tokens * E; i++) {
                logits.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Precision.floatToBf16((float) r.nextGaussian()));
            }
            MemorySegment ids = arena.allocate(tokens * k * 4, 64);
            MemorySegment w = arena.allocate(tokens * k * 4, 64);
            long[] counts = new long[E];
            Router router = Routers.create("vector", 2);
            router.route(logits, Precision.BF16, tokens, spec, ids, w, counts);
            long total = 0;
            for (long c : counts) {
                total += c;
            }
            assertEquals(tokens * k, total);
            // the reference on the tail only
            long n = tokens - tailFrom;
            MemorySegment tail = logits.asSlice(tailFrom * E * 2, n * E * 2);
            MemorySegment eIds = arena.allocate(n * k * 4);
            MemorySegment eW = arena.allocate(n * k * 4);
            new ScalarRouter().route(tail, Precision.BF16, n, spec, eIds, eW, new long[E]);
            for (long i = 0; i < n * k; i++) {
                assertEquals(eIds.getAtIndex(ValueLayout.JAVA_INT, i), ids.getAtIndex(ValueLayout.JAVA_INT, tailFrom * k + i), "slot " + i);
                float want = eW.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertEquals(want, w.getAtIndex(ValueLayout.JAVA_FLOAT, tailFrom * k + i), 1e-6f * want);
            }
            // the all-zero rows: ties everywhere, experts 0 and 1 (lower index wins)
            assertEquals(0, ids.getAtIndex(ValueLayout.JAVA_INT, 0));
            assertEquals(1, ids.getAtIndex(ValueLayout.JAVA_INT, 1));
            if (router instanceof AutoCloseable c) {
                c.close();
            }
        }
    }
}
