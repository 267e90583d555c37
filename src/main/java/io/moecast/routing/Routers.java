package io.moecast.routing;

import io.moecast.UserError;

import java.lang.reflect.InvocationTargetException;
import java.util.Locale;

/**
 * Chooses a {@link Router} implementation by name: {@code scalar} (the reference, always present),
 * {@code vector} (Vector API, when {@code jdk.incubator.vector} is loaded), {@code cuda} (when a GPU and
 * the kernels are present). Implementations other than the scalar one are loaded reflectively, so their
 * classes never link on a JVM that lacks what they need.
 */
public final class Routers {
    private Routers() {
    }

    /** The router for {@code name}; {@code auto} picks the fastest CPU router available. */
    public static Router create(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "scalar" -> new ScalarRouter();
            case "auto" -> new ScalarRouter();
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
}
