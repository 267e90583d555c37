package io.moecast.routing.cuda;

/**
 * Whether the CUDA router can run here, probed once per JVM: the jar must carry compiled kernels, JCuda
 * must be on the class path, its native library must load (it needs {@code libcuda.so.1}, the NVIDIA
 * driver), the driver must see a GPU and the kernels must load on it. Any {@code Throwable} on the way is
 * caught ({@code ExceptionInInitializerError} and reflection wrappers unwrapped) and turned into one line.
 * This class itself links no JCuda class, so it is safe to call anywhere.
 */
public final class CudaSupport {
    private CudaSupport() {
    }

    /** The probe's answer: available, and a one-line description (the device, or why not). */
    public record Availability(boolean available, String message) {
    }

    private static final class Holder {
        static final Availability RESULT = probe();
    }

    /** Probed once, then cached. */
    public static Availability availability() {
        return Holder.RESULT;
    }

    public static boolean available() {
        return availability().available();
    }

    static Availability probe() {
        KernelImage image = KernelImage.get();
        String kernels = image.built() ? null : "no CUDA kernels were built: " + image.reason();
        try {
            Class.forName("jcuda.driver.JCudaDriver", false, CudaSupport.class.getClassLoader());
        } catch (Throwable t) {
            return new Availability(false, join("JCuda is not on the class path (" + oneLine(t) + ")", kernels));
        }
        String device;
        try {
            device = openDevice(image.built());
        } catch (Throwable t) {
            return new Availability(false, join("no usable CUDA GPU: " + describe(t), kernels));
        }
        if (kernels != null) {
            return new Availability(false, device + "; but " + kernels);
        }
        return new Availability(true, device);
    }

    /** Opens the device through a separate class, so that JCuda links only inside this try. */
    private static String openDevice(boolean withKernels) throws Throwable {
        try {
            if (!withKernels) {
                return DeviceProbe.driverOnly();
            }
            return CudaDevice.get().describe();
        } catch (ExceptionInInitializerError e) {
            throw e.getCause() != null ? e.getCause() : e;
        }
    }

    private static String join(String a, String b) {
        return b == null ? a : a + "; " + b;
    }

    /** The most telling line of a failure: a known cause in words, else the deepest cause, one line. */
    static String describe(Throwable t) {
        StringBuilder all = new StringBuilder();
        Throwable root = t;
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            all.append(c).append('\n');
            root = c;
            if (c.getCause() == null) {
                break;
            }
        }
        String text = all.toString();
        if (text.contains("libcuda.so")) {
            return "the NVIDIA driver library libcuda.so.1 is not installed (JCuda's libJCudaDriver could not load it)";
        }
        if (text.contains("CUDA_ERROR_NO_DEVICE")) {
            return "the CUDA driver reports no device (CUDA_ERROR_NO_DEVICE)";
        }
        if (text.contains("CUDA_ERROR_UNSUPPORTED_PTX_VERSION") || text.contains("CUDA_ERROR_NO_BINARY_FOR_GPU")) {
            return "the kernels in this jar do not run on this GPU/driver (" + oneLine(root) + "); rebuild them with this machine's nvcc";
        }
        if (root instanceof UnsatisfiedLinkError) {
            return "JCuda's native library could not be loaded (" + oneLine(root) + ")";
        }
        return oneLine(root);
    }

    static String oneLine(Throwable t) {
        String m = t.getMessage();
        String s = t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
        s = s.replaceAll("\\s+", " ").trim();
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    /** Driver-only probe (no kernels to load): name the GPU, if any. */
    static final class DeviceProbe {
        static String driverOnly() {
            jcuda.driver.JCudaDriver.setExceptionsEnabled(true);
            jcuda.driver.JCudaDriver.cuInit(0);
            int[] n = {0};
            jcuda.driver.JCudaDriver.cuDeviceGetCount(n);
            if (n[0] == 0) {
                throw new IllegalStateException("the CUDA driver sees no GPU");
            }
            return n[0] + " CUDA device(s)";
        }
    }
}
