package io.slab4j.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forks a JVM with no module flags at all (surefire's JVM has {@code --add-exports}) and runs
 * {@link PlainJvmMain} there, logging class loading: acquire, {@code byteBuffer()}, zeroing,
 * leak watching, close, trim all work, and Agrona's {@code Unsafe}-based classes are never
 * loaded unless {@code buffer()} is called.
 */
@Timeout(120)
class PlainJvmTest {

    @Test
    void everythingButTheAgronaViewWorksOnAPlainJvm() throws IOException, InterruptedException {
        ChildJvm.Result r = ChildJvm.run(List.of("-Xlog:class+load=info"), PlainJvmMain.class);
        String out = r.output();
        String tail = r.tail();
        assertEquals(0, r.code(), tail);
        assertTrue(out.contains("PLAIN-OK 0"), tail);
        assertTrue(out.contains("io.slab4j.buffer.DirectViews"), "the check sees our classes load");
        assertFalse(out.contains("org.agrona.concurrent.UnsafeBuffer "), "UnsafeBuffer was loaded");
        assertFalse(out.contains("org.agrona.UnsafeApi "), "Agrona's UnsafeApi was loaded");
        assertFalse(out.contains("io.slab4j.buffer.AgronaViews "), "AgronaViews was loaded");
    }
}
