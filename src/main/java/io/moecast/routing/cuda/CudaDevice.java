package io.moecast.routing.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor;

/**
 * The one CUDA context of the process (the primary context of device 0, shared with any CUDA runtime
 * user such as a framework in the same process) and the routing kernels loaded into it from the jar's
 * fatbin with {@code cuModuleLoadData} (no NVRTC: JCuda 12.6's binding needs a CUDA 12 library).
 * Every JCuda call of moecast goes through this package; a caller on a new thread calls
 * {@link #makeCurrent()} first (a context is current per OS thread).
 *
 * <p>This class links JCuda: only {@link CudaSupport} (which catches every {@code Throwable}) and code
 * that runs after a successful probe may touch it.
 */
public final class CudaDevice {
    private static volatile CudaDevice instance;

    private final CUdevice device;
    private final CUcontext context;
    private final CUmodule module;
    private final Map<String, CUfunction> functions = new ConcurrentHashMap<>();
    private final Map<String, Integer> occupancy = new ConcurrentHashMap<>();
    private final String name;
    private final int ordinal;
    private final int multiprocessors;
    private final int ccMajor;
    private final int ccMinor;
    private final int smClockKHz;
    private final int memClockKHz;
    private final int busWidthBits;
    private final int l2Bytes;
    private final long totalMemory;
    private final int driverVersion;

    private CudaDevice(int ordinal) {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] count = {0};
        cuDeviceGetCount(count);
        if (count[0] <= ordinal) {
            throw new IllegalStateException(count[0] == 0 ? "the CUDA driver sees no GPU" : "no CUDA device " + ordinal);
        }
        this.ordinal = ordinal;
        device = new CUdevice();
        cuDeviceGet(device, ordinal);
        context = new CUcontext();
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        byte[] nameBytes = new byte[256];
        cuDeviceGetName(nameBytes, nameBytes.length, device);
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) {
            len++;
        }
        name = new String(nameBytes, 0, len, StandardCharsets.UTF_8).trim();
        multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        ccMajor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        ccMinor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        smClockKHz = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
        memClockKHz = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
        busWidthBits = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
        l2Bytes = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
        long[] mem = {0};
        cuDeviceTotalMem(mem, device);
        totalMemory = mem[0];
        int[] drv = {0};
        cuDriverGetVersion(drv);
        driverVersion = drv[0];
        module = new CUmodule();
        cuModuleLoadData(module, KernelImage.get().fatbin(KernelImage.ROUTING_MODULE));
    }

    /** The device (opened on first use; throws what opening threw, e.g. no driver or no GPU). */
    public static CudaDevice get() {
        CudaDevice d = instance;
        if (d == null) {
            synchronized (CudaDevice.class) {
                d = instance;
                if (d == null) {
                    d = new CudaDevice(Integer.getInteger("moecast.cuda.device", 0));
                    instance = d;
                }
            }
        }
        d.makeCurrent();
        return d;
    }

    /** Makes the context current on the calling thread. */
    public void makeCurrent() {
        cuCtxSetCurrent(context);
    }

    private int attribute(int attr) {
        int[] v = {0};
        cuDeviceGetAttribute(v, attr, device);
        return v[0];
    }

    /** A kernel of the routing module by its extern "C" name. */
    public CUfunction function(String kernel) {
        return functions.computeIfAbsent(kernel, n -> {
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, module, n);
            return f;
        });
    }

    /** Resident blocks per multiprocessor for a kernel at a block size and dynamic shared memory. */
    public int activeBlocksPerSm(String kernel, int threads, int smem) {
        return occupancy.computeIfAbsent(kernel + "/" + threads + "/" + smem, key -> {
            int[] n = {0};
            cuOccupancyMaxActiveBlocksPerMultiprocessor(n, function(kernel), threads, smem);
            return Math.max(1, n[0]);
        });
    }

    public String name() {
        return name;
    }

    public int ordinal() {
        return ordinal;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    public String computeCapability() {
        return ccMajor + "." + ccMinor;
    }

    public long totalMemory() {
        return totalMemory;
    }

    public int l2Bytes() {
        return l2Bytes;
    }

    /** Driver API version, e.g. 13000 for CUDA 13.0. */
    public int driverVersion() {
        return driverVersion;
    }

    /** One line: name, compute capability, SMs, memory. */
    public String describe() {
        return name + " (sm_" + ccMajor + ccMinor + ", " + multiprocessors + " SMs, " + (totalMemory >> 30) + " GiB, CUDA driver "
                + driverVersion / 1000 + "." + (driverVersion % 1000) / 10 + ")";
    }

    /** The facts for result files. */
    public Map<String, Object> info() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("ordinal", ordinal);
        m.put("computeCapability", computeCapability());
        m.put("multiprocessors", multiprocessors);
        m.put("smClockMHz", smClockKHz / 1000);
        m.put("memoryClockMHz", memClockKHz / 1000);
        m.put("memoryBusBits", busWidthBits);
        m.put("l2MiB", l2Bytes / (1024.0 * 1024.0));
        m.put("memoryGiB", totalMemory / (double) (1L << 30));
        m.put("cudaDriverApi", driverVersion / 1000 + "." + (driverVersion % 1000) / 10);
        m.put("kernelsNvcc", KernelImage.get().nvccVersion());
        m.put("kernelsArchs", KernelImage.get().archs());
        return m;
    }

    /** A device pointer that exposes its address (kernel parameters are passed as 64-bit values). */
    static final class DevPtr extends CUdeviceptr {
        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** A host pointer at a raw address (pinned memory mapped into a MemorySegment). */
    static final class HostPtr extends Pointer {
        HostPtr() {
            super();
        }

        HostPtr(long address) {
            super(address);
        }

        long address() {
            return getNativePointer() + getByteOffset();
        }
    }
}
