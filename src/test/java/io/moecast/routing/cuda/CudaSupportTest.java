package io.moecast.routing.cuda;

import io.moecast.UserError;
import io.moecast.routing.Routers;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The GPU probe on any machine: one cached answer, one line; on GPU-less machines a clean "unavailable". */
class CudaSupportTest {
    static boolean gpuDevicePresent() {
        return Files.exists(Path.of("/dev/nvidiactl")) || Files.exists(Path.of("/dev/nvidia0"));
    }

    @Test
    void probedOnceOneLine() {
        CudaSupport.Availability a = CudaSupport.availability();
        assertSame(a, CudaSupport.availability());
        assertFalse(a.message().isBlank());
        assertFalse(a.message().contains("\n"), a.message());
        assertTrue(a.message().length() < 600, a.message());
    }

    @Test
    void unavailableWithoutGpuIsCleanAndOneLine() {
        assumeFalse(gpuDevicePresent(), "this machine has an NVIDIA device node; the GPU tests cover it");
        CudaSupport.Availability a = CudaSupport.availability();
        assertFalse(a.available(), a.message());
        assertTrue(a.message().startsWith("no usable CUDA GPU") || a.message().startsWith("JCuda"), a.message());
        UserError e = assertThrows(UserError.class, () -> Routers.create("cuda"));
        assertTrue(e.getMessage().startsWith("the cuda router is unavailable: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(0, e.getStackTrace().length, "a UserError carries no stack trace");
        UserError again = assertThrows(UserError.class, CudaRouter::create);
        assertEquals(e.getMessage(), again.getMessage());
    }

    @Test
    void describesKnownFailuresInWords() {
        UnsatisfiedLinkError noDriver = new UnsatisfiedLinkError("Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"\n"
                + "... TMPDIR/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory");
        assertTrue(CudaSupport.describe(new ExceptionInInitializerError(noDriver)).contains("libcuda.so.1 is not installed"));
        assertTrue(CudaSupport.describe(new RuntimeException("CUDA_ERROR_NO_DEVICE")).contains("reports no device"));
        assertTrue(CudaSupport.describe(new RuntimeException("CUDA_ERROR_UNSUPPORTED_PTX_VERSION")).contains("rebuild"));
        String other = CudaSupport.describe(new IllegalStateException("line one\nline two"));
        assertEquals("IllegalStateException: line one line two", other);
    }
}
