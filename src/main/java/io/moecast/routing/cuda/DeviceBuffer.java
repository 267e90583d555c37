package io.moecast.routing.cuda;

import jcuda.driver.CUdeviceptr;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

/**
 * GPU memory ({@code cuMemAlloc}, 256-byte aligned), e.g. logits that already live on the device as they
 * do inside a training step. Freed by {@link #close()}.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CudaDevice.DevPtr ptr;
    private final long bytes;
    private boolean closed;

    DeviceBuffer(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a device buffer needs at least one byte, got " + bytes);
        }
        CudaDevice.get();
        this.bytes = bytes;
        this.ptr = new CudaDevice.DevPtr();
        cuMemAlloc(ptr, bytes);
    }

    /** Allocates {@code bytes} on the GPU. */
    public static DeviceBuffer allocate(long bytes) {
        return new DeviceBuffer(bytes);
    }

    public long bytes() {
        return bytes;
    }

    /** The device address (for kernel parameters). */
    public long address() {
        check();
        return ptr.address();
    }

    /** A JCuda pointer at a byte offset (for copies). */
    public CUdeviceptr at(long offset) {
        check();
        if (offset < 0 || offset > bytes) {
            throw new IndexOutOfBoundsException("offset " + offset + " outside a " + bytes + "-byte device buffer");
        }
        return offset == 0 ? ptr : ptr.withByteOffset(offset);
    }

    private void check() {
        if (closed) {
            throw new IllegalStateException("device buffer already freed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            CudaDevice.get();
            cuMemFree(ptr);
        }
    }
}
