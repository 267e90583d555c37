package io.moecast.routing.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** kernels/build.sh's spill check, fed ptxas logs (the CI gate that fails the build on spills). */
class BuildScriptTest {
    static final Path SCRIPT = Path.of(System.getProperty("moecast.repo", "."), "kernels", "build.sh");

    record Run(int exit, String output) {
    }

    static Run check(Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", SCRIPT.toString(), "--check", log.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        return new Run(p.waitFor(), out);
    }

    static String entry(String name, String arch, int stack, int stores, int loads, int regs) {
        return "ptxas info    : Compiling entry function '" + name + "' for '" + arch + "'\n"
                + "ptxas info    : Function properties for " + name + "\n"
                + "    " + stack + " bytes stack frame, " + stores + " bytes spill stores, " + loads + " bytes spill loads\n"
                + "ptxas info    : Used " + regs + " registers, used 1 barriers, 432 bytes cmem[0]\n";
    }

    @Test
    void spillsFailCleanPasses(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isRegularFile(SCRIPT), "kernels/build.sh not found");
        Path clean = dir.resolve("clean.log");
        Files.writeString(clean, entry("moecast_a", "sm_90", 0, 0, 0, 60) + entry("moecast_a", "sm_80", 0, 0, 0, 62));
        Run ok = check(clean);
        assertEquals(0, ok.exit(), ok.output());
        assertTrue(ok.output().contains("moecast_a"));

        Path spill = dir.resolve("spill.log");
        Files.writeString(spill, entry("moecast_a", "sm_90", 0, 0, 0, 60) + entry("moecast_b", "sm_80", 8, 4, 8, 64));
        Run bad = check(spill);
        assertEquals(1, bad.exit(), bad.output());
        assertTrue(bad.output().contains("moecast_b") && bad.output().contains("SPILL"), bad.output());

        Path empty = dir.resolve("empty.log");
        Files.writeString(empty, "nvcc said nothing\n");
        assertEquals(2, check(empty).exit());
    }
}
