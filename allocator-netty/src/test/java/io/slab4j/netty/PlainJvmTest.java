package io.slab4j.netty;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The adapter on a plain JVM: forks one with no module flags at all (this surefire JVM has
 * {@code --add-exports} and {@code --add-opens}) and runs {@link PlainJvmMain} there.
 */
@Timeout(120)
class PlainJvmTest {

    @Test
    void theAdapterWorksWithoutModuleFlags() throws IOException, InterruptedException {
        assertThat(ManagementFactory.getRuntimeMXBean().getInputArguments()).as("this JVM has flags; the child has none")
                .anyMatch(a -> a.startsWith("--add-"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                PlainJvmMain.class.getName()));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        assertThat(code).as(out).isZero();
        assertThat(out).contains("PLAIN-OK");
    }
}
