package io.moecast.report;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What machine a result came from: CPU model, cores, JDK, the Vector API's preferred species, the GPU
 * when there is one, and the git commit of the code. Recorded beside every result.
 */
public final class MachineInfo {
    private static volatile Map<String, Object> cached;

    private MachineInfo() {
    }

    /** The machine facts (computed once per JVM). */
    public static Map<String, Object> get() {
        Map<String, Object> m = cached;
        if (m == null) {
            m = collect();
            cached = m;
        }
        return m;
    }

    private static Map<String, Object> collect() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("jdk", System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " " + Runtime.version());
        m.put("maxHeapMiB", Runtime.getRuntime().maxMemory() >> 20);
        m.put("vectorSpecies", vectorSpecies());
        String gpu = gpu();
        if (gpu != null) {
            m.put("gpu", gpu);
        }
        m.put("commit", gitCommit());
        return m;
    }

    /** One line for console headers. */
    public static String oneLine() {
        Map<String, Object> m = get();
        return m.get("cpu") + ", " + m.get("cores") + " cores, JDK " + Runtime.version().feature()
                + ", " + m.get("vectorSpecies") + (m.containsKey("gpu") ? ", GPU " + m.get("gpu") : "");
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    /** {@code FloatVector.SPECIES_PREFERRED} when the incubator module is present, else "none". */
    public static String vectorSpecies() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "none (jdk.incubator.vector not loaded)";
        }
        try {
            Class<?> fv = Class.forName("jdk.incubator.vector.FloatVector");
            Object species = fv.getField("SPECIES_PREFERRED").get(null);
            // through the public interface: the species class itself is internal (IllegalAccessException)
            Object bits = Class.forName("jdk.incubator.vector.VectorSpecies").getMethod("vectorBitSize").invoke(species);
            return "FloatVector " + bits + "-bit";
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return "unavailable (" + e.getClass().getSimpleName() + ")";
        }
    }

    static String gpu() {
        String out = run(List.of("nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"), null);
        if (out == null || out.isBlank()) {
            return null;
        }
        return out.lines().findFirst().orElse("").trim();
    }

    /** The git commit of the checkout moecast runs from (with "-dirty" when it has changes), or "unknown". */
    public static String gitCommit() {
        Path repo = repoRoot();
        if (repo == null) {
            return "unknown";
        }
        String head = run(List.of("git", "rev-parse", "--short=12", "HEAD"), repo);
        if (head == null || head.isBlank()) {
            return "unknown";
        }
        String status = run(List.of("git", "status", "--porcelain", "--untracked-files=no"), repo);
        return head.trim() + (status != null && !status.isBlank() ? "-dirty" : "");
    }

    /** The source checkout: {@code moecast.repo} property, else the folder above the jar, else the cwd. */
    public static Path repoRoot() {
        String prop = System.getProperty("moecast.repo");
        if (prop != null && Files.isDirectory(Path.of(prop))) {
            return Path.of(prop);
        }
        try {
            Path jar = Path.of(MachineInfo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path p = jar.toAbsolutePath(); p != null; p = p.getParent()) {
                if (Files.exists(p.resolve("pom.xml")) && Files.exists(p.resolve(".git"))) {
                    return p;
                }
            }
        } catch (Exception ignored) {
            // fall through
        }
        Path cwd = Path.of("").toAbsolutePath();
        return Files.exists(cwd.resolve(".git")) ? cwd : null;
    }

    private static String run(List<String> cmd, Path dir) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(false);
            if (dir != null) {
                pb.directory(dir.toFile());
            }
            pb.redirectError(ProcessBuilder.Redirect.DISCARD);
            Process p = pb.start();
            StringBuilder sb = new StringBuilder();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    sb.append(line).append('\n');
                }
            }
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? sb.toString() : null;
        } catch (IOException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return null;
        }
    }
}
