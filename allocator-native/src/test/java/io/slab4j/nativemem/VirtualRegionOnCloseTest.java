package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link VirtualRegion#onClose}: each action runs exactly once, after the region is closed
 * to commits, on the closing thread; at once when the region is closed already; a failing
 * action stops neither the others nor the close.
 */
class VirtualRegionOnCloseTest {

    @Test
    void actionsRunOnceWhenTheRegionClosesAndSeeItClosed() {
        VirtualRegion region = VirtualRegion.reserve(VirtualRegion.pageSize());
        List<String> ran = new ArrayList<>();
        region.onClose(() -> ran.add("first, open=" + region.isOpen()));
        region.onClose(() -> ran.add("second, open=" + region.isOpen()));
        assertEquals(List.of(), ran);
        region.close();
        region.close(); // idempotent: the actions do not run again
        assertEquals(List.of("first, open=false", "second, open=false"), ran);
    }

    @Test
    void anActionRegisteredAfterCloseRunsAtOnce() {
        VirtualRegion region = VirtualRegion.reserve(VirtualRegion.pageSize());
        region.close();
        AtomicInteger runs = new AtomicInteger();
        region.onClose(runs::incrementAndGet);
        assertEquals(1, runs.get());
    }

    @Test
    void aFailingActionStopsNeitherTheOthersNorTheClose() {
        VirtualRegion region = VirtualRegion.reserve(VirtualRegion.pageSize());
        AtomicInteger runs = new AtomicInteger();
        region.onClose(() -> {
            throw new IllegalStateException("boom (expected by the test)");
        });
        region.onClose(runs::incrementAndGet);
        region.close();
        assertEquals(1, runs.get());
        assertFalse(region.isOpen());
        assertThrows(IllegalStateException.class, () -> region.commit(0, VirtualRegion.pageSize()));
    }

    @Test
    void aNullActionIsRejected() {
        try (VirtualRegion region = VirtualRegion.reserve(VirtualRegion.pageSize())) {
            NullPointerException e = assertThrows(NullPointerException.class, () -> region.onClose(null));
            assertEquals("onClose(null): the action is null", e.getMessage());
        }
    }

    @Test
    void closesRacingRegistrationsRunEveryActionExactlyOnce() throws InterruptedException {
        for (int round = 0; round < 50; round++) {
            VirtualRegion region = VirtualRegion.reserve(VirtualRegion.pageSize());
            AtomicInteger runs = new AtomicInteger();
            Thread registrar = new Thread(() -> {
                for (int i = 0; i < 100; i++) {
                    region.onClose(runs::incrementAndGet);
                }
            });
            registrar.start();
            region.close();
            registrar.join();
            assertEquals(100, runs.get(), "round " + round);
        }
    }
}
