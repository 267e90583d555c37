package io.moecast.placement;

import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.util.Json;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EplbPlannerTest {

    static Placement plan(PlacementShape s, double[] load) {
        Placement p = new Placement(s);
        new EplbPlanner(s).plan(load, p);
        p.validate();
        return p;
    }

    /**
     * Worked by hand. Loads [6, 3, 2, 1], 2 redundant slots, 2 GPUs (3 slots each), global policy.
     * Replication: per-replica loads [6,3,2,1] -> expert 0 gets replica 1 ([3,3,2,1]); tie 3 = 3 goes
     * to the lower index, expert 0 again ([2,3,2,1]). Slots before packing: e0 e1 e2 e3 e0 e0 with
     * loads 2 3 2 2... i.e. slot loads [2,3,2,1,2,2]. Packing by load desc (ties lower slot): slot1(3)
     * -> GPU0 [3,0]; slot0(2) -> GPU1 [3,2]; slot2(2) -> GPU1 [3,4]; slot4(2) -> GPU0 [5,4]; slot5(2)
     * -> GPU1 [5,6], GPU1 full; slot3(1) -> GPU0 [6,6]. GPU0 = slots 1,4,3 = experts 1,0,3; GPU1 =
     * slots 0,2,5 = experts 0,2,0 (two replicas of expert 0 on one GPU, as in the reference).
     */
    @Test
    void handWorkedReplicationAndPacking() {
        PlacementShape s = PlacementShape.of(1, 4, 2, 2);
        Placement p = plan(s, new double[] {6, 3, 2, 1});
        assertArrayEquals(new int[] {1, 0, 3, 0, 2, 0}, p.layerRow(0));
        assertEquals(3, p.replicas(0, 0));
        assertEquals(1, p.replicas(0, 1));
        // replica ranks: rank 0 of expert 0 is its original slot (now slot 3), rank 1 slot 1, rank 2 slot 5
        assertEquals(3, p.slotOf(0, 0, 0));
        assertEquals(1, p.slotOf(0, 0, 1));
        assertEquals(5, p.slotOf(0, 0, 2));
        assertEquals(-1, p.slotOf(0, 1, 1));
        double[] gpu = new double[2];
        p.gpuLoads(0, new double[] {6, 3, 2, 1}, 0, gpu);
        assertArrayEquals(new double[] {6, 6}, gpu, 1e-12);
    }

    /** The example printed in EPLB's README (2 layers, 12 experts, 16 replicas, 4 groups, 2 nodes, 8 GPUs). */
    @Test
    void readmeExampleHierarchical() {
        PlacementShape s = PlacementShape.of(2, 12, 4, 8, 2, 4);
        assertTrue(s.hierarchical());
        Placement p = plan(s, new double[] {
                90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86,
                20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27});
        assertArrayEquals(new int[] {5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1}, p.layerRow(0));
        assertArrayEquals(new int[] {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}, p.layerRow(1));
    }

    /** Every case of src/test/python/eplb_golden.py (a NumPy rendering of the reference, float32). */
    @Test
    void matchesPythonReferenceGoldenCases() throws Exception {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("eplb-golden.json")) {
            root = Json.MAPPER.readTree(in);
        }
        int n = 0;
        for (JsonNode c : root.get("cases")) {
            JsonNode w = c.get("weight");
            int L = w.size();
            int E = w.get(0).size();
            double[] load = new double[L * E];
            for (int l = 0; l < L; l++) {
                for (int e = 0; e < E; e++) {
                    load[l * E + e] = w.get(l).get(e).asDouble();
                }
            }
            PlacementShape s = PlacementShape.of(L, E, c.get("replicas").asInt() - E, c.get("gpus").asInt(),
                    c.get("nodes").asInt(), c.get("groups").asInt());
            Placement p = plan(s, load);
            String name = c.get("name").asText();
            JsonNode mine = Json.MAPPER.valueToTree(PlanJson.toMap(p));
            assertEquals(c.get("phy2log"), mine.get("phy2log"), name + " phy2log");
            assertEquals(c.get("logcnt"), mine.get("logcnt"), name + " logcnt");
            assertEquals(c.get("log2phy"), mine.get("log2phy"), name + " log2phy");
            n++;
        }
        assertTrue(n >= 10, "golden cases: " + n);
    }

    @Test
    void invariantsOnRandomShapes() {
        Random rnd = new Random(7);
        int[][] shapes = { // layers, experts, redundant, gpus, nodes, groups
                {3, 16, 4, 4, 1, 1}, {3, 16, 8, 8, 1, 1}, {2, 64, 0, 8, 1, 1}, {2, 64, 16, 8, 2, 8},
                {2, 256, 32, 32, 4, 8}, {1, 7, 1, 2, 1, 1}, {1, 5, 3, 1, 1, 1}, {2, 60, 4, 4, 3, 4}};
        for (int[] sh : shapes) {
            PlacementShape s = PlacementShape.of(sh[0], sh[1], sh[2], sh[3], sh[4], sh[5]);
            for (int trial = 0; trial < 20; trial++) {
                double[] load = new double[s.layers() * s.experts()];
                for (int i = 0; i < load.length; i++) {
                    load[i] = trial % 5 == 0 ? rnd.nextInt(3) : Math.pow(rnd.nextDouble(), -1.5);
                }
                Placement p = plan(s, load);
                int[] perGpu = new int[s.gpus()];
                for (int l = 0; l < s.layers(); l++) {
                    int placed = 0;
                    for (int e = 0; e < s.experts(); e++) {
                        assertTrue(p.replicas(l, e) >= 1);
                        placed += p.replicas(l, e);
                    }
                    assertEquals(s.slots(), placed);
                    java.util.Arrays.fill(perGpu, 0);
                    for (int q = 0; q < s.slots(); q++) {
                        perGpu[s.gpuOf(q)]++;
                    }
                    for (int g : perGpu) {
                        assertEquals(s.slotsPerGpu(), g);
                    }
                    // hierarchical: every node holds whole groups of experts
                    if (s.nodes() > 1 && s.hierarchical()) {
                        int perNode = s.slots() / s.nodes();
                        int gs = s.experts() / s.groups();
                        for (int q = 0; q < s.slots(); q++) {
                            int node = q / perNode;
                            int g = p.expertAt(l, q) / gs;
                            for (int q2 = 0; q2 < s.slots(); q2++) {
                                if (p.expertAt(l, q2) / gs == g) {
                                    assertEquals(node, q2 / perNode, "group " + g + " split over nodes");
                                }
                            }
                        }
                    }
                }
                // replication lowers no GPU below what an even split of the hottest expert allows
                double[] gpu = new double[s.gpus()];
                for (int l = 0; l < s.layers(); l++) {
                    p.gpuLoads(l, load, l * s.experts(), gpu);
                    double sum = PlacementMetrics.sum(gpu, s.gpus());
                    double total = 0;
                    for (int e = 0; e < s.experts(); e++) {
                        total += load[l * s.experts() + e];
                    }
                    assertEquals(total, sum, 1e-9 * Math.max(1, total));
                }
            }
        }
    }

    @Test
    void replicationGoesToHighestLoadPerReplica() {
        // 3 experts, 3 redundant: [9, 4, 1] -> e0 (9) -> [4.5,4,1] -> e0 (4.5) -> [3,4,1] -> e1 (4)
        PlacementShape s = PlacementShape.of(1, 3, 3, 1);
        Placement p = plan(s, new double[] {9, 4, 1});
        assertEquals(3, p.replicas(0, 0));
        assertEquals(2, p.replicas(0, 1));
        assertEquals(1, p.replicas(0, 2));
    }

    @Test
    void shapeErrorsAreClear() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> PlacementShape.of(1, 16, 1, 4));
        assertTrue(ex.getMessage().contains("17 physical slots is not divisible by 4 GPUs"), ex.getMessage());
        assertTrue(ex.getMessage().contains("e.g. 0"), ex.getMessage());
        // hierarchical (6 groups % 3 nodes == 0) needs GPUs divisible by nodes; the global policy does not
        assertThrows(IllegalArgumentException.class, () -> PlacementShape.of(1, 18, 2, 4, 3, 6));
        assertTrue(!PlacementShape.of(1, 16, 0, 4, 3, 8).hierarchical());
        assertThrows(IllegalArgumentException.class, () -> PlacementShape.of(1, 16, 0, 4, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> PlacementShape.of(1, 16, -1, 4));
        PlacementShape s = PlacementShape.of(1, 4, 0, 2);
        assertThrows(IllegalArgumentException.class, () -> new EplbPlanner(s).plan(new double[] {1, Double.NaN, 1, 1}, new Placement(s)));
        assertThrows(IllegalArgumentException.class, () -> new EplbPlanner(s).plan(new double[] {1, -1, 1, 1}, new Placement(s)));
        assertThrows(IllegalArgumentException.class, () -> new EplbPlanner(s).plan(new double[] {1, Double.POSITIVE_INFINITY, 1, 1}, new Placement(s)));
        assertThrows(IllegalArgumentException.class, () -> new EplbPlanner(s).plan(new double[] {1, 1, 1}, new Placement(s)));
    }

    /** The planner allocates nothing once constructed (DeepSeek-V3 shape). */
    @Test
    void steadyStateIsAllocationFree() {
        PlacementShape s = PlacementShape.of(58, 256, 32, 32, 4, 8);
        EplbPlanner planner = new EplbPlanner(s);
        Placement p = new Placement(s);
        double[] load = new double[58 * 256];
        Random rnd = new Random(3);
        for (int i = 0; i < load.length; i++) {
            load[i] = Math.pow(rnd.nextDouble(), -1.2);
        }
        for (int i = 0; i < 200; i++) {
            planner.plan(load, p);
        }
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 50; i++) {
            planner.plan(load, p);
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < 4096, "allocated " + allocated + " bytes in 50 plans");
    }
}
