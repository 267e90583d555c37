package io.moecast.placement;

import io.moecast.analysis.StateDetectors;
import io.moecast.placement.PlacementSimulation.Outcome;
import io.moecast.placement.PlacementSimulation.Source;
import io.moecast.placement.PlacementSimulation.Strategy;
import io.moecast.predict.Predictors;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.TraceMeta;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlacementSimulationTest {
    /** 2 layers x 8 experts; expert shares fixed, except that the hot expert changes at step {@code shift}. */
    static LoadTrace trace(int steps, int shift, double noise, long seed) {
        Random rnd = new Random(seed);
        int L = 2;
        int E = 8;
        int[] c = new int[steps * L * E];
        for (int s = 0; s < steps; s++) {
            for (int l = 0; l < L; l++) {
                for (int e = 0; e < E; e++) {
                    int hot = s < shift ? 0 : 5;
                    double share = e == hot ? 0.37 : 0.09; // no near-ties between per-replica loads
                    c[(s * L + l) * E + e] = (int) Math.round(1000 * share * (1 + noise * rnd.nextGaussian()));
                }
            }
        }
        return new LoadTrace(TraceMeta.empty(), steps, L, E, 0, c);
    }

    static List<Outcome> run(LoadTrace t, List<Strategy> rows, int window) throws Exception {
        PlacementSimulation.Config cfg = new PlacementSimulation.Config(4, 4, 1, 1, window, "eplb", 0, 0.005, 3);
        return new PlacementSimulation(cfg).run(t.reader(Path.of("mem")), rows, StateDetectors.online(t.layers(), t.experts()));
    }

    @Test
    void constantLoadsMeanEveryStrategyMatchesTheOracleAndNothingMoves() throws Exception {
        LoadTrace t = trace(600, Integer.MAX_VALUE, 0, 1);
        List<Outcome> o = run(t, List.of(
                new Strategy("static", "", Source.STATIC, null, 100, 0, false),
                new Strategy("lws", "", Source.PREDICTOR, Predictors.create("last-window-sum:window=100", 2, 8), 100, 0, false),
                new Strategy("ema50", "", Source.PREDICTOR, Predictors.create("ema:beta=0.9", 2, 8), 50, 0, false),
                new Strategy("oracle", "", Source.ORACLE, null, 100, 0, false)), 100);
        double oracle = o.get(3).summary(null).balancedness();
        for (Outcome x : o) {
            assertEquals(5, x.windowCount());
            assertEquals(oracle, x.summary(null).balancedness(), 1e-12, x.strategy.name());
            assertEquals(0, x.moves, x.strategy.name());
        }
        assertEquals(10, o.get(2).replans); // every 50 steps from step 100 to 599
    }

    @Test
    void oracleFollowsAShiftTheStaticPlacementMisses() throws Exception {
        LoadTrace t = trace(1000, 500, 0.02, 2);
        List<Outcome> o = run(t, List.of(
                new Strategy("static", "", Source.STATIC, null, 100, 0, false),
                new Strategy("last", "", Source.PREDICTOR, Predictors.create("last-value", 2, 8), 100, 0, false),
                new Strategy("last-mig", "", Source.PREDICTOR, Predictors.create("last-value", 2, 8), 100, 0, true),
                new Strategy("oracle", "", Source.ORACLE, null, 100, 0, false)), 100);
        Outcome stat = o.get(0);
        Outcome last = o.get(1);
        Outcome mig = o.get(2);
        Outcome oracle = o.get(3);
        // after the shift (windows starting at 600..900) static is badly balanced, the others are not
        for (int w = 0; w < stat.windowCount(); w++) {
            if (stat.windowStart(w) >= 600) {
                assertTrue(stat.balancedness(w) < 0.8, "static " + stat.balancedness(w));
                assertTrue(last.balancedness(w) > 0.9, "last " + last.balancedness(w));
                // capped at 3 moves per layer per re-plan, it converges over a few re-plans
                assertTrue(mig.balancedness(w) > stat.balancedness(w) + 0.05, "migration " + mig.balancedness(w));
                assertTrue(oracle.balancedness(w) >= last.balancedness(w) - 0.02);
            }
        }
        assertTrue(mig.balancedness(mig.windowCount() - 1) > 0.9);
        // the window containing the shift: only the oracle sees it coming
        int ws = 4; // window [500, 600)
        assertEquals(500, oracle.windowStart(ws));
        assertTrue(oracle.balancedness(ws) > last.balancedness(ws) + 0.1);
        assertTrue(mig.moves < last.moves || last.moves == 0, mig.moves + " vs " + last.moves);
        assertTrue(mig.moves > 0);
    }

    @Test
    void rejectsShortTracesAndMisplacedOracle() {
        LoadTrace t = trace(80, Integer.MAX_VALUE, 0, 3);
        assertThrows(IllegalArgumentException.class, () -> run(t, List.of(
                new Strategy("static", "", Source.STATIC, null, 100, 0, false)), 100));
        LoadTrace t2 = trace(300, Integer.MAX_VALUE, 0, 3);
        assertThrows(IllegalArgumentException.class, () -> run(t2, List.of(
                new Strategy("oracle", "", Source.ORACLE, null, 50, 0, false)), 100));
    }
}
