package io.slab4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * This module runs Netty's own buffer tests from Netty's test jar, whose
 * {@code junit-platform.properties} turns on concurrent test methods. The parent POM's
 * {@code slab4j.junit.parameters}, passed by surefire, take precedence over that file; this
 * checks they reach this module (a module that set surefire's {@code properties} itself would
 * replace them): parallel execution off, and the default timeout on a separate thread.
 */
class JUnitConfigurationTest {

    private static volatile String parallel;
    private static volatile String threadMode;

    @RegisterExtension
    static final BeforeEachCallback READ = context -> {
        parallel = context.getConfigurationParameter("junit.jupiter.execution.parallel.enabled").orElse("(unset)");
        threadMode = context.getConfigurationParameter("junit.jupiter.execution.timeout.thread.mode.default").orElse("(unset)");
    };

    @Test
    void nettysTestsRunOneAtATimeUnderTheBuildsTimeouts() {
        assertEquals("false", parallel, "junit.jupiter.execution.parallel.enabled");
        assertEquals("SEPARATE_THREAD", threadMode, "junit.jupiter.execution.timeout.thread.mode.default");
    }
}
