package io.slab4j.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A pool closed while buffers are still open must not leave an access it cannot refuse (a
 * caller's duplicate of a view, a raw address, a Netty buffer's NIO buffer) faulting on unmapped
 * memory: the region is emptied and stays reserved. Without open buffers the region is unmapped.
 * Runs in a child JVM ({@link ClosedWithOpenBuffersMain}), since the failure is a JVM crash.
 */
@Timeout(120)
class ClosedWithOpenBuffersTest {

    @Test
    void aPoolClosedWithOpenBuffersKeepsItsRegionReservedAndEmptied() throws IOException, InterruptedException {
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx128m", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/slab4j-closed-open-hs_err_%p.log"), ClosedWithOpenBuffersMain.class);
        assertEquals(0, r.code(), "the child JVM failed (134: crashed):\n" + r.tail());
        assertTrue(r.output().contains("CLOSED-WITH-OPEN-OK"), r.tail());
    }
}
