package io.slab4j.nativemem;

import java.util.Locale;

/**
 * Which operating systems and CPUs {@link VirtualRegion} runs on, decided from the
 * {@code os.name} and {@code os.arch} system properties alone.
 *
 * <p>This class is pure Java on purpose: it is consulted <em>before</em> anything touches
 * {@link LinuxMemory}, so on an unsupported platform neither that class nor JNA is ever
 * loaded, and the caller gets an {@link UnsupportedOperationException} instead of a
 * linkage error from a native library that may not exist there.
 *
 * <p>Supported: Linux on x86-64 ({@code amd64}/{@code x86_64}) and aarch64. Both use the
 * generic Linux values of the {@code mmap}/{@code mprotect}/{@code madvise} constants and
 * errno numbers that {@link LinuxMemory} and {@link NativeMemoryException} hard-code.
 *
 * <p>Invariants: {@link #OS_NAME}, {@link #OS_ARCH} and {@link #SUPPORTED} are read once,
 * when this class is initialised, and never change.
 *
 * <p>Concurrency: immutable after class initialisation; every method is thread-safe.
 */
final class SupportedPlatform {

    /** {@code os.name} as seen when this class was initialised. */
    static final String OS_NAME = String.valueOf(System.getProperty("os.name"));

    /** {@code os.arch} as seen when this class was initialised. */
    static final String OS_ARCH = String.valueOf(System.getProperty("os.arch"));

    /** Whether {@link #OS_NAME}/{@link #OS_ARCH} name a platform this module supports. */
    static final boolean SUPPORTED = isSupported(OS_NAME, OS_ARCH);

    private SupportedPlatform() {
    }

    /** Whether the given {@code os.name} and {@code os.arch} values name a supported platform. */
    static boolean isSupported(String osName, String osArch) {
        if (osName == null || osArch == null) {
            return false;
        }
        if (!osName.toLowerCase(Locale.ROOT).startsWith("linux")) {
            return false;
        }
        switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64":
            case "x86_64":
            case "aarch64":
                return true;
            default:
                return false;
        }
    }

    /**
     * Fails with an {@link UnsupportedOperationException} naming the platform unless it is
     * supported. Cheap: after JIT compilation this is a constant branch.
     *
     * @param operation what the caller was about to do, for the message
     */
    static void require(String operation) {
        if (!SUPPORTED) {
            throw new UnsupportedOperationException(operation
                    + ": slab4j native memory supports Linux on x86-64 (amd64) and aarch64 only;"
                    + " this JVM reports os.name='" + OS_NAME + "', os.arch='" + OS_ARCH + "'");
        }
    }
}
