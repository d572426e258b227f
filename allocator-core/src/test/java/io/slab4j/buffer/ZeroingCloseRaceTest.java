package io.slab4j.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A zeroing pool's close must not unmap the region while an acquire that found the pool open is
 * still zeroing its buffer: that write would fault, and a fault in an {@code Unsafe} memset
 * kills the JVM. So the race runs in a child JVM ({@link ZeroingCloseRaceMain}), and the test
 * fails when the child dies (before the fix: SIGSEGV, exit code 134, an hs_err report) or does
 * not report success.
 */
@Timeout(180)
class ZeroingCloseRaceTest {

    @Test
    void closeWaitsForAnAcquireInsideItsZeroing() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-Xmx256m", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/slab4j-zero-close-hs_err_%p.log", "-cp",
                System.getProperty("java.class.path"), ZeroingCloseRaceMain.class.getName(), "20"));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        String tail = out.length() > 4000 ? out.substring(out.length() - 4000) : out;
        assertEquals(0, code, "the child JVM died:\n" + tail);
        assertTrue(out.contains("ZERO-CLOSE-OK rounds=20"), tail);
    }
}
