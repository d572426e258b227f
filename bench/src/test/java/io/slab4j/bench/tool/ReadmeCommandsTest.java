package io.slab4j.bench.tool;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every {@code java ... -jar bench/target/JAR ...} command in the README names a jar this
 * module builds (a {@code finalName} in bench/pom.xml), and every {@code slab4j-bench.jar}
 * command names a scenario the tool has — so a renamed jar or scenario breaks the build,
 * not a reader's first minute.
 */
class ReadmeCommandsTest {
    private static final Pattern COMMAND = Pattern.compile("-jar bench/target/([\\w.-]+\\.jar)(?:\\s+([\\w-]+))?");
    private static final Pattern FINAL_NAME = Pattern.compile("<finalName>([\\w.-]+)</finalName>");

    @Test
    void theReadmesJarCommandsNameWhatExists() throws IOException {
        Path readme = Path.of("..", "README.md");
        Path pom = Path.of("pom.xml");
        assertTrue(Files.isRegularFile(readme) && Files.isRegularFile(pom), "run from the bench module directory");
        Set<String> jars = new HashSet<>();
        Matcher f = FINAL_NAME.matcher(Files.readString(pom));
        while (f.find()) {
            jars.add(f.group(1) + ".jar");
        }
        assertTrue(jars.contains("slab4j-bench.jar") && jars.contains("benchmarks.jar"), jars.toString());
        Set<String> scenarios = new CommandLine(new BenchTool()).getSubcommands().keySet();
        Matcher m = COMMAND.matcher(Files.readString(readme));
        while (m.find()) {
            assertTrue(jars.contains(m.group(1)), "README names " + m.group(1) + "; bench/pom.xml builds " + jars);
            if (m.group(1).equals("slab4j-bench.jar")) {
                assertTrue(m.group(2) != null && scenarios.contains(m.group(2)),
                        "README runs slab4j-bench.jar '" + m.group(2) + "'; the tool has " + scenarios);
            }
        }
    }
}
