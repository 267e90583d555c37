package io.moecast.routing;

import io.moecast.UserError;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.InvocationTargetException;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Chooses a {@link Router} implementation by name, Lucene-style:
 * <ul>
 *   <li>{@code scalar}: the reference ({@link ScalarRouter}), always present, single-threaded;</li>
 *   <li>{@code vector} and {@code auto}: the Vector API router ({@code io.moecast.routing.panama.VectorRouter}),
 *       loaded reflectively only when {@code jdk.incubator.vector} is in the boot layer and C2 is on;
 *       otherwise the scalar router, with ONE warning per JVM naming the fix.</li>
 * </ul>
 * The system property {@value #PROPERTY} ({@code scalar} or {@code vector}) forces the choice for
 * {@code vector}/{@code auto} requests: {@code scalar} always gives the reference; {@code vector} fails
 * with an {@link IllegalStateException} instead of falling back. Other implementations (CUDA) are
 * loaded reflectively in the same way, so their classes never link on a JVM that lacks what they need.
 */
public final class Routers {
    /** System property forcing {@code scalar} or {@code vector}. */
    public static final String PROPERTY = "moecast.router";
    private static final String VECTOR_CLASS = "io.moecast.routing.panama.VectorRouter";
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private Routers() {
    }

    /** The router for {@code name} with one thread per available processor. */
    public static Router create(String name) {
        return create(name, Runtime.getRuntime().availableProcessors());
    }

    /**
     * The router for {@code name} ({@code scalar}, {@code vector} or {@code auto}) using up to
     * {@code threads} threads (the scalar reference always uses one).
     */
    public static Router create(String name, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        String n = name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "scalar" -> new ScalarRouter();
            case "vector", "auto" -> vectorOrScalar(threads);
            case "cuda" -> cuda();
            default -> throw new IllegalArgumentException("unknown router '" + name + "' (use scalar, vector, cuda or auto)");
        };
    }

    /**
     * The CUDA router, loaded reflectively so JCuda links only here. Without a usable GPU (no driver, no
     * device, no kernels in the jar) it throws a {@link UserError} with a one-line reason, so a command
     * run with {@code --impl cuda} exits 2 with that line.
     */
    private static Router cuda() {
        try {
            return (Router) Class.forName("io.moecast.routing.cuda.CudaRouter").getMethod("create").invoke(null);
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            if (c instanceof UserError u) {
                throw u;
            }
            throw new UserError("the cuda router is unavailable: " + c.getClass().getSimpleName() + ": " + c.getMessage(), c);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new UserError("the cuda router is unavailable: " + e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    private static Router vectorOrScalar(int threads) {
        String forced = System.getProperty(PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        if (forced.equals("scalar")) {
            return new ScalarRouter();
        }
        if (!forced.isEmpty() && !forced.equals("vector")) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + forced + ": use scalar or vector");
        }
        String why = vectorUnavailableReason();
        if (why == null) {
            try {
                MethodHandle ctor = MethodHandles.lookup().findConstructor(
                        Class.forName(VECTOR_CLASS), MethodType.methodType(void.class, int.class));
                return (Router) ctor.invoke(threads);
            } catch (UnsupportedOperationException e) {
                why = e.getMessage();
            } catch (Throwable e) {
                why = "cannot load " + VECTOR_CLASS + ": " + e;
            }
        }
        if (forced.equals("vector")) {
            throw new IllegalStateException("-D" + PROPERTY + "=vector, but the Vector API router is unavailable: " + why);
        }
        if (WARNED.compareAndSet(false, true)) {
            System.err.println("moecast: WARNING: Vector API router unavailable (" + why + "); using the scalar router. "
                    + "Fix: run java with --add-modules=jdk.incubator.vector and C2 on (./moecast does this).");
        }
        return new ScalarRouter();
    }

    /** Whether {@code vector} would give the Vector API router (module present, C2 on). */
    public static boolean vectorAvailable() {
        return vectorUnavailableReason() == null;
    }

    /** Null when the Vector API router can run here, else why not (one phrase). */
    public static String vectorUnavailableReason() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "the jdk.incubator.vector module is not in the boot layer";
        }
        String info = System.getProperty("java.vm.info", "");
        if (info.contains("interpreted mode")) {
            return "the JVM runs interpreted (-Xint)";
        }
        if (!c2Enabled()) {
            return "C2 is off (-XX:TieredStopAtLevel below 4, or a client VM); the Vector API needs C2";
        }
        return null;
    }

    private static boolean c2Enabled() {
        try {
            var bean = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            if (bean == null) {
                return true;
            }
            boolean tiered = Boolean.parseBoolean(bean.getVMOption("TieredCompilation").getValue());
            int stop = Integer.parseInt(bean.getVMOption("TieredStopAtLevel").getValue());
            if (tiered && stop < 4) {
                return false;
            }
            if (Boolean.parseBoolean(bean.getVMOption("UseJVMCICompiler").getValue())) {
                return false; // Graal as JIT: the Vector API intrinsics are C2's (Lucene refuses it too)
            }
            return true;
        } catch (Throwable e) {
            return true; // no management module (jlinked runtime) or not HotSpot: assume a server VM
        }
    }
}
