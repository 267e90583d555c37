package io.moecast.placement;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LptAndMetricsTest {
    /**
     * By hand: [7,5,4,3,2,1] on 2 GPUs of 3: 7->G0 [7,0]; 5->G1 [7,5]; 4->G1 [7,9]; 3->G0 [10,9];
     * 2->G1 [10,11] (G1 full); 1->G0 [11,11]. GPU0 = 0,3,5; GPU1 = 1,2,4.
     */
    @Test
    void lptByHand() {
        PlacementShape s = PlacementShape.of(1, 6, 0, 2);
        Placement p = new Placement(s);
        new LptPlanner(s).plan(new double[] {7, 5, 4, 3, 2, 1}, p);
        p.validate();
        assertArrayEquals(new int[] {0, 3, 5, 1, 2, 4}, p.layerRow(0));
    }

    @Test
    void lptEqualsGlobalEplbWithoutRedundancy() {
        PlacementShape s = PlacementShape.of(4, 32, 0, 8);
        Random rnd = new Random(11);
        for (int t = 0; t < 20; t++) {
            double[] load = new double[4 * 32];
            for (int i = 0; i < load.length; i++) {
                load[i] = rnd.nextInt(1000);
            }
            Placement a = new Placement(s);
            Placement b = new Placement(s);
            new LptPlanner(s).plan(load, a);
            new EplbPlanner(s).plan(load, b);
            assertEquals(b, a);
        }
    }

    @Test
    void lptRefusesRedundantSlots() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> new LptPlanner(PlacementShape.of(1, 16, 4, 4)));
        assertTrue(ex.getMessage().contains("redundant"));
    }

    @Test
    void balancednessAndMoves() {
        assertEquals(0.75, PlacementMetrics.balancedness(new double[] {2, 4, 3, 3}, 4), 1e-12);
        assertEquals(1.0, PlacementMetrics.balancedness(new double[] {0, 0}, 2), 0);
        PlacementShape s = PlacementShape.of(1, 4, 2, 2);
        Placement a = new Placement(s);
        Placement b = new Placement(s);
        a.setLayer(0, new int[] {0, 1, 2, 3, 0, 1});
        b.setLayer(0, new int[] {1, 0, 2, 3, 1, 0}); // same multisets per GPU, shuffled slots
        assertEquals(0, PlacementMetrics.moves(a, b));
        b.setLayer(0, new int[] {3, 2, 1, 0, 1, 0}); // GPU0 {3,2,1} vs {0,1,2}: 3 new; GPU1 {0,1,0} vs {3,0,1}: one more 0
        assertEquals(2, PlacementMetrics.moves(a, b));
        b.setLayer(0, new int[] {0, 0, 0, 1, 2, 3});
        // GPU0 {0,0,0} vs {0,1,2}: two extra 0s; GPU1 {1,2,3} vs {3,0,1}: 2 is new
        assertEquals(3, PlacementMetrics.moves(a, b));
    }

    @Test
    void triggerSkipsBalancedLayers() {
        PlacementShape s = PlacementShape.of(2, 4, 0, 2);
        Placement p = new Placement(s);
        p.setLayer(0, new int[] {0, 1, 2, 3});
        p.setLayer(1, new int[] {0, 1, 2, 3});
        double[] load = {1, 1, 1, 1, 4, 4, 1, 1};
        ReplanTrigger t = new ReplanTrigger(s, 0.9);
        assertFalse(t.shouldReplan(p, 0, load, 0));
        assertEquals(10.0 / 2 / 8, t.forecastBalancedness(p, 1, load, 4), 1e-12);
        assertTrue(t.shouldReplan(p, 1, load, 4));
        assertThrows(IllegalArgumentException.class, () -> new ReplanTrigger(s, 1.5));
    }
}
