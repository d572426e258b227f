package io.slab4j.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-6 adversarial review of BufferPool through the public API. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BufferPoolRound6ReviewTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static String name() {
        return "r6b-" + SEQ.incrementAndGet();
    }

    @Test
    void aBlockedAcquireIsCountedInItsClassesWaits() throws Exception {
        // SizeClassStats.waits: "pool gets that had to wait" (PoolStats.waits: "gets that had to wait (queued on the
        // pool ...)"). A blocked acquire of a class queues on the class's pool (BufferPool step 4: sync on the class
        // pool's getEvent()), so after an acquire that waited 50 ms and timed out, waits must have grown.
        // Observed: waits stays 0 (failures grows, waiters is back to 0). Seen failing with
        // mvn -o -pl allocator-core -am verify -Dtest=io.slab4j.buffer.BufferPoolRound6ReviewTest.
        // PoolRound6ReviewTest shows the cause one layer down: a sync on Pool.getEvent() is not counted as a wait.
        try (BufferPool p = BufferPool.builder().name(name()).reserve(2L << 20).leakDetection(LeakDetection.OFF).build()) {
            List<PooledBuffer> held = new ArrayList<>();
            PooledBuffer b;
            while ((b = p.tryAcquire(100)) != null) {
                held.add(b);
            }
            SizeClassStats before = p.stats().sizeClasses().stream().filter(x -> x.size() >= 100).findFirst().get();
            long t0 = System.nanoTime();
            assertNull(p.acquire(100, Duration.ofMillis(50)));
            long waited = System.nanoTime() - t0;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(45), "it did wait: " + waited + " ns");
            BufferPoolStats s = p.stats();
            assertEquals(0, s.waiters(), s.toString());
            SizeClassStats cs = s.sizeClasses().stream().filter(x -> x.size() >= 100).findFirst().get();
            assertEquals(0, cs.waiters(), cs.toString());
            assertTrue(cs.failures() > before.failures(), before + " -> " + cs);
            assertTrue(cs.waits() > before.waits(), "a get of the class's pool had to wait: " + before + " -> " + cs);
            held.forEach(PooledBuffer::close);
        }
    }
}
