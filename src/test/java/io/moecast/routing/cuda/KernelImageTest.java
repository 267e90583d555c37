package io.moecast.routing.cuda;

import io.moecast.routing.Precision;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The kernels the build packed into the jar (no GPU needed). */
class KernelImageTest {
    static boolean nvccPresent() {
        if (System.getenv("NVCC") != null || "1".equals(System.getenv("MOECAST_SKIP_KERNELS"))) {
            return false;   // a deliberately different build
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, "nvcc"))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"));
    }

    @Test
    void builtWheneverNvccIsPresent() {
        KernelImage img = KernelImage.get();
        if (!img.built()) {
            assertFalse(img.reason().isBlank());
            assertFalse(nvccPresent(), "nvcc is on this machine but the build carries no kernels: " + img.reason());
        }
    }

    @Test
    void fatbinAndEveryPlannedKernel() throws Exception {
        KernelImage img = KernelImage.get();
        assumeTrue(img.built(), "no kernels built: " + img.reason());
        byte[] fb = img.fatbin(KernelImage.ROUTING_MODULE);
        assertTrue(fb.length > 10_000);
        // fatbin magic 0xBA55ED50, little-endian
        assertEquals(0x50, fb[0] & 0xff);
        assertEquals(0xED, fb[1] & 0xff);
        assertEquals(0x55, fb[2] & 0xff);
        assertEquals(0xBA, fb[3] & 0xff);
        assertTrue(img.archs().contains("sm_90") && img.archs().contains("sm_80") && img.archs().contains("compute_90"), img.archs());
        List<String> kernels = img.kernels();
        for (ScoringMode m : ScoringMode.values()) {
            for (Precision p : Precision.values()) {
                for (KernelPlan.Variant v : KernelPlan.Variant.values()) {
                    RoutingSpec spec = m == ScoringMode.SIGMOID_GROUPED ? RoutingSpec.grouped(64, 2, 8, 4, null) : RoutingSpec.of(64, 2, m);
                    String k = KernelPlan.of(spec, p, 256, v).kernel();
                    assertTrue(kernels.contains(k), k + " missing from " + kernels);
                }
            }
        }
        for (String helper : List.of("moecast_fill_normal_f32", "moecast_fill_normal_bf16", "moecast_gate_f32", "moecast_spin")) {
            assertTrue(kernels.contains(helper), helper);
        }
        Map<String, Integer> regs = img.registers();
        assertEquals(kernels.size(), regs.size());
        // occupancy guard: the routing kernels stay well under 96 registers per thread (3+ blocks of 256 per SM)
        regs.forEach((k, r) -> assertTrue(r <= 96, k + " uses " + r + " registers"));
    }
}
