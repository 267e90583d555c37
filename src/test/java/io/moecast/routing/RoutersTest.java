package io.moecast.routing;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lucene-style selection: the Vector API router when it can run, else the reference with one warning. */
class RoutersTest {
    @Test
    void scalarIsAlwaysTheReference() {
        assertInstanceOf(ScalarRouter.class, Routers.create("scalar"));
        assertInstanceOf(ScalarRouter.class, Routers.create("SCALAR", 2));
        assertThrows(IllegalArgumentException.class, () -> Routers.create("gpu-magic"));
        assertThrows(IllegalArgumentException.class, () -> Routers.create("auto", 0));
    }

    @Test
    void autoGivesTheVectorRouterWhenTheModuleIsLoaded() {
        // Surefire runs with --add-modules=jdk.incubator.vector (pom: moecast.jvm.flags)
        assertTrue(Routers.vectorAvailable(), Routers.vectorUnavailableReason());
        assertEquals("vector", Routers.create("auto", 1).name());
        assertEquals("vector", Routers.create("vector", 2).name());
    }

    @Test
    void systemPropertyForcesTheScalarRouter() {
        String old = System.getProperty(Routers.PROPERTY);
        try {
            System.setProperty(Routers.PROPERTY, "scalar");
            assertInstanceOf(ScalarRouter.class, Routers.create("auto"));
            assertInstanceOf(ScalarRouter.class, Routers.create("vector", 2));
            System.setProperty(Routers.PROPERTY, "nonsense");
            assertThrows(IllegalArgumentException.class, () -> Routers.create("auto"));
        } finally {
            if (old == null) {
                System.clearProperty(Routers.PROPERTY);
            } else {
                System.setProperty(Routers.PROPERTY, old);
            }
        }
    }

    /** A JVM without the incubator module: `auto` falls back with exactly one warning and still routes. */
    @Test
    void fallsBackWithOneWarningWithoutTheIncubatorModule() throws Exception {
        String out = runJava(List.of(), "route", "--tokens", "3000", "--experts", "8", "--k", "2", "--impl", "auto",
                "--runs", "1", "--warmup", "0", "--json");
        assertTrue(out.contains("\"impl\" : \"scalar\""), out);
        int warnings = out.split("Vector API router unavailable", -1).length - 1;
        assertEquals(1, warnings, out);
        assertTrue(out.contains("--add-modules=jdk.incubator.vector"), "the warning names the fix: " + out);
        assertTrue(out.contains("\"counts_total\" : 6000"), out);
    }

    /** Forcing vector where it cannot run is an error, not a silent fallback. */
    @Test
    void forcedVectorWithoutTheModuleFailsClearly() throws Exception {
        String out = runJava(List.of("-Dmoecast.router=vector"), "route", "--tokens", "100", "--experts", "8", "--k", "2",
                "--impl", "auto", "--runs", "1", "--warmup", "0");
        assertTrue(out.contains("--impl: -Dmoecast.router=vector, but the Vector API router is unavailable"), out);
    }

    private static String runJava(List<String> jvmArgs, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(jvmArgs);
        cmd.add("-Dmoecast.quiet=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("io.moecast.cli.Main");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return out + "\n(exit " + p.exitValue() + ", classpath entries " + System.getProperty("java.class.path").split(File.pathSeparator).length + ")";
    }
}
