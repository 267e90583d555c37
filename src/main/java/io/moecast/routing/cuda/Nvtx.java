package io.moecast.routing.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * NVTX ranges (named spans on the Nsight Systems / Nsight Compute timeline) through the FFM API, when the
 * NVTX library is present: {@code $MOECAST_NVTX_LIB}, else {@code libnvToolsExt.so.1} on the library path
 * (CUDA toolkits up to 12 ship it; the pip package {@code nvidia-nvtx} too). Without it every call is a
 * no-op costing one branch. Ranges are per host thread and strictly nested.
 */
public final class Nvtx {
    private static final MethodHandle PUSH;
    private static final MethodHandle POP;
    private static final String SOURCE;
    private static final Range NOOP = () -> { };

    static {
        MethodHandle push = null;
        MethodHandle pop = null;
        String source = "absent";
        try {
            String env = System.getenv("MOECAST_NVTX_LIB");
            String lib = env != null && !env.isBlank() ? env : "libnvToolsExt.so.1";
            SymbolLookup lookup = SymbolLookup.libraryLookup(lib, Arena.global());
            Optional<MemorySegment> p = lookup.find("nvtxRangePushA");
            Optional<MemorySegment> q = lookup.find("nvtxRangePop");
            if (p.isPresent() && q.isPresent()) {
                Linker linker = Linker.nativeLinker();
                push = linker.downcallHandle(p.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
                pop = linker.downcallHandle(q.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT));
                source = lib;
            }
        } catch (Throwable t) {
            push = null;
            pop = null;
        }
        PUSH = push;
        POP = pop;
        SOURCE = source;
    }

    private Nvtx() {
    }

    /** A range to close (try-with-resources). */
    @FunctionalInterface
    public interface Range extends AutoCloseable {
        @Override
        void close();
    }

    /** True when ranges reach an NVTX library. */
    public static boolean enabled() {
        return PUSH != null;
    }

    /** Where the library came from, or "absent". */
    public static String source() {
        return SOURCE;
    }

    /** Opens a named range (no-op without NVTX). */
    public static Range range(String name) {
        if (PUSH == null) {
            return NOOP;
        }
        try (Arena a = Arena.ofConfined()) {
            int ignored = (int) PUSH.invokeExact(a.allocateFrom(name));
        } catch (Throwable t) {
            return NOOP;
        }
        return Nvtx::pop;
    }

    private static void pop() {
        try {
            int ignored = (int) POP.invokeExact();
        } catch (Throwable ignored) {
            // tracing only
        }
    }
}
