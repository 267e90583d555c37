package io.moecast.routing.cuda;

import java.lang.foreign.MemorySegment;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

/** Synchronous copies between native {@link MemorySegment}s and {@link DeviceBuffer}s (tests, checks). */
public final class DeviceIo {
    private DeviceIo() {
    }

    /** Copies all of {@code src} (native memory) to the start of {@code dst}. */
    public static void upload(DeviceBuffer dst, MemorySegment src) {
        check(src, dst);
        if (src.byteSize() > 0) {
            CudaDevice.get();
            cuMemcpyHtoD(dst.at(0), new CudaDevice.HostPtr(src.address()), src.byteSize());
        }
    }

    /** Copies the start of {@code src} into all of {@code dst} (native memory). */
    public static void download(DeviceBuffer src, MemorySegment dst) {
        check(dst, src);
        if (dst.byteSize() > 0) {
            CudaDevice.get();
            cuMemcpyDtoH(new CudaDevice.HostPtr(dst.address()), src.at(0), dst.byteSize());
        }
    }

    private static void check(MemorySegment host, DeviceBuffer dev) {
        if (!host.isNative()) {
            throw new IllegalArgumentException("device copies need native (off-heap) memory");
        }
        if (host.byteSize() > dev.bytes()) {
            throw new IllegalArgumentException(host.byteSize() + " bytes do not fit a " + dev.bytes() + "-byte device buffer");
        }
    }
}
