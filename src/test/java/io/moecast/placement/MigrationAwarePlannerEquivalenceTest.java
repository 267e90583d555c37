package io.moecast.placement;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link MigrationAwarePlanner} against {@link MigrationAwarePlannerV0} (the first, straightforward
 * version, kept verbatim): sequences of re-plans on random loads from the same start must give the
 * same placements and the same moves, call after call.
 */
class MigrationAwarePlannerEquivalenceTest {

    @Test
    void identicalToFirstVersionOverReplanSequences() {
        Random rnd = new Random(11);
        int[][] shapes = { // layers, experts, redundant, gpus, nodes, groups
                {3, 256, 32, 32, 4, 8}, {3, 256, 32, 32, 1, 8}, {4, 64, 16, 8, 2, 8}, {4, 16, 4, 4, 1, 1},
                {4, 60, 12, 12, 3, 6}, {4, 33, 3, 3, 1, 1}, {4, 48, 0, 8, 1, 1}, {3, 96, 48, 48, 3, 12},
                {4, 12, 4, 8, 2, 4}, {3, 128, 8, 17, 1, 1}};
        double[][] settings = {{0.005, -1}, {0.0, 1}, {0.02, 4}, {0.0, 1000}};
        int plans = 0;
        for (int[] sh : shapes) {
            PlacementShape s = PlacementShape.of(sh[0], sh[1], sh[2], sh[3], sh[4], sh[5]);
            for (double[] st : settings) {
                int maxMoves = st[1] < 0 ? MigrationAwarePlanner.defaultMaxMoves(s) : (int) st[1];
                MigrationAwarePlanner fast = new MigrationAwarePlanner(s, st[0], maxMoves);
                MigrationAwarePlannerV0 ref = new MigrationAwarePlannerV0(s, st[0], maxMoves);
                Placement a = new Placement(s);
                Placement b = new Placement(s);
                if (rnd.nextBoolean()) {
                    double[] first = EplbPlannerReferenceTest.loads(rnd, s.layers() * s.experts(), 0);
                    new EplbPlanner(s).plan(first, a);
                    new EplbPlanner(s).plan(first, b);
                }
                for (int step = 0; step < 8; step++) {
                    int kind = rnd.nextInt(10);
                    double[] load = EplbPlannerReferenceTest.loads(rnd, s.layers() * s.experts(), kind);
                    fast.plan(load, a);
                    ref.plan(load, b);
                    for (int l = 0; l < s.layers(); l++) {
                        String where = s + " threshold " + st[0] + " maxMoves " + maxMoves + " step " + step + " kind " + kind + " layer " + l;
                        assertArrayEquals(b.layerRow(l), a.layerRow(l), where);
                        assertEquals(ref.lastMoves(l), fast.lastMoves(l), where + " moves");
                        assertEquals(ref.lastChanged(l), fast.lastChanged(l), where + " changed");
                    }
                    assertEquals(b, a, s + " step " + step + " (ranks, replica counts)");
                    plans++;
                }
            }
        }
        assertTrue(plans >= 300, "plans: " + plans);
    }

    /** Re-plans allocate nothing once constructed (DeepSeek-V3 shape, loads alternating so work is done). */
    @Test
    void steadyStateIsAllocationFree() {
        PlacementShape s = PlacementShape.of(8, 256, 32, 32, 4, 8);
        MigrationAwarePlanner planner = new MigrationAwarePlanner(s, MigrationAwarePlanner.DEFAULT_THRESHOLD,
                MigrationAwarePlanner.defaultMaxMoves(s));
        Random rnd = new Random(4);
        double[][] loads = {EplbPlannerReferenceTest.loads(rnd, 8 * 256, 0), EplbPlannerReferenceTest.loads(rnd, 8 * 256, 5)};
        Placement p = new Placement(s);
        for (int i = 0; i < 200; i++) {
            planner.plan(loads[i & 1], p);
        }
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 20; i++) {
            planner.plan(loads[i & 1], p);
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < 4096, "allocated " + allocated + " bytes in 20 re-plans");
    }
}
