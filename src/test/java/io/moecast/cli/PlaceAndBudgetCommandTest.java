package io.moecast.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlaceAndBudgetCommandTest {
    static String trace() {
        return Path.of(System.getProperty("moecast.repo", ".")).resolve("traces/moe-gpt-jdk-e16-top2-seed1.npy").toString();
    }

    record Out(int code, String out, String err) {
    }

    static Out run(String... args) {
        PrintStream o = System.out;
        PrintStream e = System.err;
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        ByteArrayOutputStream be = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(bo, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(be, true, StandardCharsets.UTF_8));
            var cl = Main.commandLine();
            cl.setErr(new java.io.PrintWriter(System.err, true));
            int code = cl.execute(args);
            return new Out(code, bo.toString(StandardCharsets.UTF_8), be.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(o);
            System.setErr(e);
        }
    }

    @Test
    void placeRunsOnTheBundledTrace() {
        Out r = run("place", trace(), "--gpus", "4", "--redundant", "4", "--replan", "500", "--no-chart", "--no-engine-cadence", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"strategy\" : \"oracle\""), r.out());
        assertTrue(r.out().contains("\"migration\""));
    }

    @Test
    void placeRejectsIndivisibleSlots() {
        Out r = run("place", trace(), "--gpus", "4", "--redundant", "1", "--no-chart");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("17 physical slots is not divisible by 4 GPUs"), r.err());
        r = run("place", trace(), "--planner", "lpt", "--redundant", "4", "--no-chart");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("lpt"), r.err());
    }

    @Test
    void budgetListsPresetsAndRejectsUnknownOnes() {
        Out r = run("budget", "--list");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("deepseek-v3-decode"));
        assertTrue(r.out().contains("arXiv 2412.19437"));
        r = run("budget", "--preset", "gpt5");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown preset"), r.err());
        r = run("budget", "--preset", "deepseek-v3", "--fraction", "2");
        assertEquals(2, r.code());
    }
}
