package io.slab4j.netty;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The build gives every test method a timeout and runs it on a thread of its own
 * ({@code slab4j.junit.parameters} in the parent POM, repeated in this module's, which adds a parameter of its own), so a test that spins without looking at
 * its interrupt still fails at its timeout instead of hanging the run. JUnit names the threads
 * it runs such tests on "junit-timeout-thread-N"; this method has no {@code @Timeout} of its
 * own, so it runs on one only if the default applies.
 */
class TestTimeoutsTest {

    @Test
    void aTestWithoutItsOwnTimeoutRunsUnderTheDefaultOnASeparateThread() {
        String name = Thread.currentThread().getName();
        assertTrue(name.startsWith("junit-timeout-thread"),
                "test body ran on thread '" + name + "': the default timeout or its SEPARATE_THREAD mode is not configured");
    }
}
