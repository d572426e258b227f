package io.slab4j.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The idle decay runs on the pool's own traffic; raw acquires and releases (what the Netty adapter makes) are traffic too. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RawTrafficDecayTest {

    /** Raw traffic of one class alone gives back a parked large span and another class's idle slab, without trim. */
    @Test
    void rawTrafficAloneDrivesTheIdleDecay() throws Exception {
        try (BufferPool p = BufferPool.builder().name("raw-decay").reserve(16L << 20).idleDecay(Duration.ofMillis(50))
                .leakDetection(LeakDetection.OFF).build()) {
            p.acquire(1 << 20).close();
            p.acquire(4096).close();
            assertTrue(p.stats().committedBytes() >= (1 << 20) + 32768, p.stats().toString());
            long[] got = new long[1];
            Object[] tok = new Object[1];
            RawHolder h = (a, c, t) -> {
                got[0] = a;
                tok[0] = t;
            };
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (p.stats().committedBytes() > 16384 && System.nanoTime() < end) {
                for (int k = 0; k < 1000; k++) {
                    assertTrue(p.tryAcquireRaw(64, h));
                    p.releaseRaw(h, tok[0], got[0]);
                }
                Thread.sleep(5); // idle time is what the decay looks for
            }
            BufferPoolStats s = p.stats();
            assertEquals(0, s.cachedLargeBytes(), s.toString());
            for (SizeClassStats c : s.sizeClasses()) {
                if (c.size() == 4096) {
                    assertEquals(0, c.slabs(), s.toString());
                }
            }
        }
    }
}
