package io.moecast.routing.cuda;

import io.moecast.routing.Precision;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;
import org.junit.jupiter.api.Test;

import static io.moecast.routing.cuda.KernelPlan.Variant.AUTO;
import static io.moecast.routing.cuda.KernelPlan.Variant.GENERIC;
import static io.moecast.routing.cuda.KernelPlan.Variant.V4;
import static io.moecast.routing.cuda.KernelPlan.Variant.V8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelPlanTest {
    static KernelPlan plan(int E, int k, ScoringMode m, Precision p) {
        return KernelPlan.of(RoutingSpec.of(E, k, m), p, 256, AUTO);
    }

    @Test
    void fastPathSizes() {
        KernelPlan p = plan(64, 2, ScoringMode.SOFTMAX_TOPK, Precision.F32);
        assertEquals("moecast_route_softmax_topk_f32_v8", p.kernel());
        assertEquals(8, p.lanesPerToken());
        assertEquals(32, p.rowsPerBlock());
        assertEquals(64 * 4, p.smemBytes());
        assertEquals(32, plan(256, 8, ScoringMode.SOFTMAX_TOPK, Precision.F32).lanesPerToken());
        assertEquals(1, plan(8, 2, ScoringMode.TOPK_SOFTMAX, Precision.BF16).lanesPerToken());
        // padded: 96 experts = 12 lanes of 8, rounded up to a 16-lane group
        assertEquals(16, plan(96, 2, ScoringMode.SOFTMAX_TOPK, Precision.F32).lanesPerToken());
        // E % 8 != 0 but E % 4 == 0: the 4-wide variant
        KernelPlan p60 = plan(60, 4, ScoringMode.SOFTMAX_TOPK, Precision.BF16);
        assertEquals("moecast_route_softmax_topk_bf16_v4", p60.kernel());
        assertEquals(16, p60.lanesPerToken());
    }

    @Test
    void genericPathForOtherSizes() {
        for (int E : new int[] {1, 3, 6, 30, 257, 300, 512, 4096}) {
            KernelPlan p = plan(E, Math.min(E, 2), ScoringMode.SOFTMAX_TOPK, Precision.F32);
            assertFalse(p.fast(), "E=" + E);
            assertEquals("moecast_route_softmax_topk_f32_generic", p.kernel());
            assertEquals(32, p.lanesPerToken());
        }
        // 4-wide f32 rows above 128 experts need 8 per lane: E = 132 is generic
        assertFalse(plan(132, 2, ScoringMode.SOFTMAX_TOPK, Precision.F32).fast());
    }

    @Test
    void alignmentDecidesTheLoadWidth() {
        RoutingSpec s = RoutingSpec.of(64, 2, ScoringMode.SOFTMAX_TOPK);
        assertFalse(KernelPlan.of(s, Precision.F32, 8, AUTO).fast());
        assertEquals("moecast_route_softmax_topk_bf16_v4", KernelPlan.of(s, Precision.BF16, 8, AUTO).kernel());
        assertFalse(KernelPlan.of(s, Precision.BF16, 4, AUTO).fast());
        assertEquals(16, KernelPlan.alignmentOf(0x1010));
        assertEquals(256, KernelPlan.alignmentOf(0x7f0000000000L));
    }

    @Test
    void sigmoidGroupsMustSpanWholeAlignedLanes() {
        KernelPlan ds = KernelPlan.of(RoutingSpec.grouped(256, 8, 8, 4, null), Precision.F32, 256, AUTO);
        assertEquals("moecast_route_sigmoid_grouped_f32_v8", ds.kernel());
        assertEquals(2, ds.lpgLog2());   // 32 experts per group = 4 lanes of 8
        assertEquals(0, KernelPlan.of(RoutingSpec.grouped(64, 2, 8, 4, null), Precision.F32, 256, AUTO).lpgLog2());
        assertEquals("moecast_route_sigmoid_grouped_f32_v4",
                KernelPlan.of(RoutingSpec.grouped(32, 2, 8, 4, null), Precision.F32, 256, AUTO).kernel());
        assertFalse(KernelPlan.of(RoutingSpec.grouped(48, 2, 2, 1, null), Precision.F32, 256, AUTO).fast()); // 24 = 3 lanes
        assertFalse(KernelPlan.of(RoutingSpec.grouped(24, 2, 8, 4, null), Precision.F32, 256, AUTO).fast()); // 3 per group
        assertTrue(KernelPlan.of(RoutingSpec.grouped(64, 2, 1, 1, null), Precision.F32, 256, AUTO).fast());
    }

    @Test
    void forcedVariants() {
        RoutingSpec s = RoutingSpec.of(64, 2, ScoringMode.SOFTMAX_TOPK);
        assertEquals("moecast_route_softmax_topk_f32_v4", KernelPlan.of(s, Precision.F32, 256, V4).kernel());
        assertEquals("moecast_route_softmax_topk_f32_v8", KernelPlan.of(s, Precision.F32, 256, V8).kernel());
        assertEquals("moecast_route_softmax_topk_f32_generic", KernelPlan.of(s, Precision.F32, 256, GENERIC).kernel());
        assertThrows(IllegalArgumentException.class, () -> KernelPlan.of(RoutingSpec.of(60, 2, ScoringMode.SOFTMAX_TOPK), Precision.F32, 256, V8));
    }

    @Test
    void limits() {
        IllegalArgumentException k9 = assertThrows(IllegalArgumentException.class, () -> plan(64, 9, ScoringMode.SOFTMAX_TOPK, Precision.F32));
        assertTrue(k9.getMessage().contains("k <= 8"));
        // generic shared memory: a 4096-group sigmoid spec does not fit even one warp per block
        assertThrows(IllegalArgumentException.class,
                () -> KernelPlan.of(RoutingSpec.grouped(4096, 2, 4096, 4, null), Precision.F32, 256, AUTO));
        KernelPlan big = KernelPlan.of(RoutingSpec.grouped(2048, 2, 2048, 4, null), Precision.F32, 256, AUTO);
        assertTrue(big.smemBytes() <= KernelPlan.SMEM_LIMIT);
        assertEquals(64, big.threadsPerBlock());   // 2 warps: 8 KiB histogram + 2 x 18 KiB group scores
    }

    @Test
    void gridIsCappedAtOneFullWave() {
        KernelPlan p = plan(64, 2, ScoringMode.SOFTMAX_TOPK, Precision.F32);
        assertEquals(1, p.blocks(1, 132, 3));
        assertEquals(2, p.blocks(33, 132, 3));
        assertEquals(396, p.blocks(1L << 24, 132, 3));
    }
}
