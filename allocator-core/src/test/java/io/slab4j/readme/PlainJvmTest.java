package io.slab4j.readme;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README says the core runs on a plain JVM (only Agrona's {@code UnsafeBuffer} views need
 * {@code --add-exports}). This runs {@link PlainJvmProgram} in a child JVM without any
 * module flag, so a class that starts reaching {@code jdk.internal.misc} breaks this test.
 */
class PlainJvmTest {

    @Test
    void theCoreRunsWithoutModuleFlags() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = List.of(java, "-Xmx256m", "-cp", testClassPath(), PlainJvmProgram.class.getName());
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = child.getInputStream().readAllBytes();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String printed = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, child.exitValue(), () -> "child JVM failed:\n" + printed);
        assertTrue(printed.contains("plain JVM ok"), printed);
    }

    /** Surefire may hide the class path in a manifest-only jar; it also publishes the real one. */
    static String testClassPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isEmpty() ? surefire : System.getProperty("java.class.path");
    }
}
