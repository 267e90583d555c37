package io.moecast.routing.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The compiled CUDA kernels the jar carries: {@code kernels/<module>.fatbin} resources (sm_80 and sm_90
 * machine code plus compute_90 PTX, built by {@code kernels/build.sh} during the Maven build) and
 * {@code kernels/kernels.properties}, which says whether they were built (no {@code nvcc}, no kernels) and
 * lists every entry point with its sm_90 register count. Pure Java: touches no CUDA library.
 */
public final class KernelImage {
    /** The module holding the routing kernels ({@code kernels/routing.cu}). */
    public static final String ROUTING_MODULE = "routing";

    private static final KernelImage INSTANCE = load();

    private final boolean built;
    private final String reason;
    private final Properties props;

    private KernelImage(boolean built, String reason, Properties props) {
        this.built = built;
        this.reason = reason;
        this.props = props;
    }

    public static KernelImage get() {
        return INSTANCE;
    }

    private static KernelImage load() {
        Properties p = new Properties();
        try (InputStream in = KernelImage.class.getResourceAsStream("kernels/kernels.properties")) {
            if (in == null) {
                return new KernelImage(false, "this jar carries no CUDA kernel build (kernels/kernels.properties missing)", p);
            }
            p.load(in);
        } catch (IOException e) {
            return new KernelImage(false, "cannot read the CUDA kernel build description: " + e.getMessage(), p);
        }
        if (!Boolean.parseBoolean(p.getProperty("built", "false"))) {
            return new KernelImage(false, p.getProperty("reason", "the CUDA kernels were not built"), p);
        }
        return new KernelImage(true, "", p);
    }

    /** True when the build compiled the kernels (nvcc was present). */
    public boolean built() {
        return built;
    }

    /** Why there are no kernels (empty when {@link #built()}). */
    public String reason() {
        return reason;
    }

    /** nvcc release that compiled them, e.g. {@code 13.0}. */
    public String nvccVersion() {
        return props.getProperty("nvcc", "");
    }

    /** Machine-code and PTX targets, e.g. {@code sm_80,sm_90,compute_90}. */
    public String archs() {
        return props.getProperty("archs", "");
    }

    /** Every compiled entry point. */
    public List<String> kernels() {
        String k = props.getProperty("kernels", "");
        return k.isEmpty() ? List.of() : Arrays.asList(k.split(","));
    }

    /** sm_90 registers per thread of each entry point (ptxas -v at build time). */
    public Map<String, Integer> registers() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (String name : kernels()) {
            String r = props.getProperty("regs." + name);
            if (r != null) {
                m.put(name, Integer.parseInt(r.trim()));
            }
        }
        return m;
    }

    /** The fatbin bytes of a module, for {@code cuModuleLoadData}. */
    public byte[] fatbin(String module) {
        if (!built) {
            throw new IllegalStateException(reason);
        }
        try (InputStream in = KernelImage.class.getResourceAsStream("kernels/" + module + ".fatbin")) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks kernels/" + module + ".fatbin");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
