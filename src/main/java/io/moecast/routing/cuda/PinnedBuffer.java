package io.moecast.routing.cuda;

import jcuda.Pointer;

import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;

/**
 * Page-locked host memory ({@code cuMemHostAlloc}) seen as a {@link MemorySegment}: copies between it and
 * the GPU run at PCIe speed and overlap with kernels (pageable memory is staged by the driver and does
 * not overlap). Not write-combined, so the CPU reads it at normal speed. Freed by {@link #close()}.
 */
public final class PinnedBuffer implements AutoCloseable {
    private static final Set<PinnedBuffer> LIVE = ConcurrentHashMap.newKeySet();

    private final CudaDevice.HostPtr ptr;
    private final long bytes;
    private final MemorySegment segment;
    private boolean closed;

    PinnedBuffer(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a pinned buffer needs at least one byte, got " + bytes);
        }
        CudaDevice.get();
        this.bytes = bytes;
        this.ptr = new CudaDevice.HostPtr();
        cuMemHostAlloc(ptr, bytes, 0);
        this.segment = MemorySegment.ofAddress(ptr.address()).reinterpret(bytes);
        LIVE.add(this);
    }

    /** True when {@code s} lies inside a live pinned buffer (copies from it need no staging). */
    static boolean isPinned(MemorySegment s) {
        if (!s.isNative()) {
            return false;
        }
        for (PinnedBuffer b : LIVE) {
            if (b.contains(s)) {
                return true;
            }
        }
        return false;
    }

    /** Allocates {@code bytes} of pinned host memory. */
    public static PinnedBuffer allocate(long bytes) {
        return new PinnedBuffer(bytes);
    }

    /** The memory, for reading and writing from Java. */
    public MemorySegment segment() {
        if (closed) {
            throw new IllegalStateException("pinned buffer already freed");
        }
        return segment;
    }

    public long bytes() {
        return bytes;
    }

    /** True when {@code s} lies inside this buffer. */
    boolean contains(MemorySegment s) {
        return !closed && s.isNative() && s.address() >= segment.address()
                && s.address() + s.byteSize() <= segment.address() + bytes;
    }

    /** A JCuda pointer at an absolute host address inside this buffer. */
    static Pointer hostPointer(long address) {
        return new CudaDevice.HostPtr(address);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LIVE.remove(this);
            CudaDevice.get();
            cuMemFreeHost(ptr);
        }
    }
}
