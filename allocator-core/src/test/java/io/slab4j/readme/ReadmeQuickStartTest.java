package io.slab4j.readme;

import org.junit.jupiter.api.Test;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Compiles the README's quick-start program and runs it on a plain JVM, so the README cannot rot. */
class ReadmeQuickStartTest {

    @Test
    void quickStartCompilesAndRuns() throws Exception {
        String source = quickStartSource();
        Path dir = Files.createTempDirectory("slab4j-readme");
        Path file = dir.resolve("QuickStart.java");
        Files.writeString(file, source);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "a JDK (not a JRE) runs the tests");
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int status = javac.run(null, diagnostics, diagnostics,
                "-classpath", testClassPath(), "-d", dir.toString(), file.toString());
        assertEquals(0, status, () -> "the README's quick start does not compile:\n" + diagnostics);

        // A child JVM with no module flags: the quick start promises a plain JVM is enough.
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx256m", "-cp", dir + File.pathSeparator + testClassPath(), "QuickStart")
                .redirectErrorStream(true).start();
        byte[] output = child.getInputStream().readAllBytes();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the quick start did not finish");
        String printed = new String(output, StandardCharsets.UTF_8);
        System.out.print(printed);
        assertEquals(0, child.exitValue(), () -> "the quick start failed:\n" + printed);
        assertTrue(printed.contains("read back 42 from a 1024-byte buffer"), printed);
        assertTrue(printed.contains("buffers in use: 0"), printed);
    }

    /** The first java block after the "Quick start" heading. */
    private static String quickStartSource() throws IOException {
        Path readme = Path.of("..", "README.md");
        String text = Files.readString(readme);
        int section = text.indexOf("## Quick start");
        assertTrue(section >= 0, "README.md has no '## Quick start' section");
        Matcher block = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(text);
        assertTrue(block.find(section), "README.md's quick start has no java block");
        return block.group(1);
    }

    /** Surefire may hide the class path in a manifest-only jar; it also publishes the real one. */
    private static String testClassPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isEmpty() ? surefire : System.getProperty("java.class.path");
    }
}
