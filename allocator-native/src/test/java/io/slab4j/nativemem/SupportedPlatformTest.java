package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Which platforms are supported, and that an unsupported one gets a clear
 * {@link UnsupportedOperationException} without the JNA-bound class, or JNA itself, ever
 * being loaded.
 */
class SupportedPlatformTest {

    @ParameterizedTest
    @CsvSource({
        "Linux, amd64, true",
        "Linux, x86_64, true",
        "Linux, aarch64, true",
        "Linux, arm, false",
        "Linux, riscv64, false",
        "Linux, x86, false",
        "Mac OS X, aarch64, false",
        "Windows 11, amd64, false",
        "FreeBSD, amd64, false",
    })
    void supportsLinuxOnX86_64AndAarch64Only(String osName, String osArch, boolean supported) {
        assertEquals(supported, SupportedPlatform.isSupported(osName, osArch));
    }

    @Test
    void missingPropertiesAreUnsupported() {
        assertFalse(SupportedPlatform.isSupported(null, "amd64"));
        assertFalse(SupportedPlatform.isSupported("Linux", null));
    }

    @Test
    void thisBuildRunsOnASupportedPlatform() {
        assertTrue(SupportedPlatform.SUPPORTED,
                "tests need Linux x86-64 or aarch64, not " + SupportedPlatform.OS_NAME + "/" + SupportedPlatform.OS_ARCH);
    }

    /**
     * Loads this module's classes afresh in a loader that cannot see the test's copies, with
     * {@code os.arch} pretending to be SPARC while they initialise, and checks that neither
     * {@link LinuxMemory} nor any JNA class was loaded by the failed calls.
     */
    @Test
    void anUnsupportedPlatformFailsClearlyWithoutLoadingNativeCode() throws Exception {
        String realArch = System.getProperty("os.arch");
        System.setProperty("os.arch", "sparcv9");
        try (IsolatedLoader loader = new IsolatedLoader()) {
            Class<?> region = Class.forName(VirtualRegion.class.getName(), true, loader);
            assertEquals(loader, region.getClassLoader());

            for (Method method : new Method[] {
                region.getMethod("reserve", long.class), region.getMethod("pageSize")}) {
                Object[] args = method.getParameterCount() == 0 ? new Object[0] : new Object[] {1L << 20};
                InvocationTargetException e = assertThrows(InvocationTargetException.class,
                        () -> method.invoke(null, args));
                Throwable cause = e.getCause();
                assertEquals(UnsupportedOperationException.class, cause.getClass(), String.valueOf(cause));
                assertTrue(cause.getMessage().contains("os.name='" + SupportedPlatform.OS_NAME + "'"), cause.getMessage());
                assertTrue(cause.getMessage().contains("os.arch='sparcv9'"), cause.getMessage());
            }

            assertNotNull(loader.loaded(SupportedPlatform.class.getName()), "the check ran in the isolated loader");
            assertNull(loader.loaded(LinuxMemory.class.getName()), "LinuxMemory must not be loaded");
            assertNull(loader.loaded("com.sun.jna.Native"), "JNA must not be loaded");
            assertNull(loader.loaded("com.sun.jna.Platform"), "JNA must not be loaded");
        } finally {
            System.setProperty("os.arch", realArch);
        }
    }

    /** This module's classes and the JNA jar, with only the JDK's platform classes as parent. */
    private static final class IsolatedLoader extends URLClassLoader {

        IsolatedLoader() throws MalformedURLException {
            super(new URL[] {
                VirtualRegion.class.getProtectionDomain().getCodeSource().getLocation(),
                jarOf("com/sun/jna/Native.class"),
            }, ClassLoader.getPlatformClassLoader());
        }

        Class<?> loaded(String name) {
            return findLoadedClass(name);
        }

        private static URL jarOf(String resource) throws MalformedURLException {
            String url = ClassLoader.getSystemResource(resource).toString();
            if (!url.startsWith("jar:") || !url.contains("!/")) {
                throw new IllegalStateException("expected " + resource + " in a jar, found " + url);
            }
            return new URL(url.substring("jar:".length(), url.indexOf("!/")));
        }
    }
}
