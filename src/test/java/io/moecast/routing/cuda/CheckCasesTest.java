package io.moecast.routing.cuda;

import io.moecast.routing.Precision;
import io.moecast.routing.ScalarRouter;
import io.moecast.routing.ScoringMode;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The GPU check's cases cover what they claim, and the reference routes all of them. */
class CheckCasesTest {
    @Test
    void coverage() {
        List<CheckCases.Case> cases = CheckCases.generate(20251130L, 1200, 4096);
        assertEquals(1200, cases.size());
        Set<String> kinds = new HashSet<>();
        Set<ScoringMode> modes = EnumSet.noneOf(ScoringMode.class);
        Set<KernelPlan.Variant> variants = EnumSet.noneOf(KernelPlan.Variant.class);
        boolean bf16 = false;
        boolean big = false;
        boolean odd = false;
        boolean empty = false;
        boolean nan = false;
        boolean grouped = false;
        for (CheckCases.Case c : cases) {
            kinds.add(c.kind());
            modes.add(c.spec().mode());
            variants.add(c.variant());
            bf16 |= c.precision() == Precision.BF16;
            big |= c.spec().experts() > 256;
            odd |= c.spec().experts() % 2 == 1 && c.spec().experts() > 1;
            empty |= c.tokens() == 0;
            grouped |= c.spec().groups() > 1;
            for (float x : c.logits()) {
                nan |= Float.isNaN(x);
            }
            assertTrue(c.spec().k() <= KernelPlan.MAX_K);
            if (c.precision() == Precision.BF16) {
                for (float x : c.logits()) {
                    assertTrue(Float.isNaN(x) || Precision.bf16ToFloat(Precision.floatToBf16(x)) == x);
                }
            }
        }
        assertEquals(Set.of("normal", "ties", "specials", "rows", "saturate", "wide"), kinds);
        assertEquals(EnumSet.allOf(ScoringMode.class), modes);
        assertEquals(EnumSet.of(KernelPlan.Variant.AUTO, KernelPlan.Variant.V4, KernelPlan.Variant.GENERIC), variants);
        assertTrue(bf16 && big && odd && empty && nan && grouped);
    }

    @Test
    void referenceRoutesThem() {
        ScalarRouter ref = new ScalarRouter();
        try (Arena arena = Arena.ofConfined()) {
            for (CheckCases.Case c : CheckCases.generate(7, 120, 64)) {
                GpuCheck.Expected e = GpuCheck.expected(ref, c, arena);
                long sum = 0;
                for (long v : e.counts()) {
                    sum += v;
                }
                assertEquals((long) c.tokens() * c.spec().k(), sum, c.toString());
                assertEquals(e.ids().length, c.tokens() * c.spec().k());
                // an implementation that agrees with itself passes the comparison; one wrong id does not
                assertEquals(null, GpuCheck.compare(c, e, e));
                if (e.ids().length > 0) {
                    int[] bad = e.ids().clone();
                    bad[0] = (bad[0] + 1) % c.spec().experts();
                    if (c.spec().experts() > 1) {
                        assertTrue(GpuCheck.compare(c, e, new GpuCheck.Expected(bad, e.weights(), e.counts())).startsWith("ids differ"));
                    }
                }
            }
        }
    }
}
