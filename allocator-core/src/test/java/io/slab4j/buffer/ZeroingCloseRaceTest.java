package io.slab4j.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
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
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx256m", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/slab4j-zero-close-hs_err_%p.log"), ZeroingCloseRaceMain.class, "20");
        assertEquals(0, r.code(), "the child JVM died:\n" + r.tail());
        assertTrue(r.output().contains("ZERO-CLOSE-OK rounds=20"), r.tail());
    }
}
