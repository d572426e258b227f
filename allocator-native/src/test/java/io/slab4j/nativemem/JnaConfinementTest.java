package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * JNA stays behind one class (STYLE.md: "only allocator-native imports com.sun.jna, and a
 * test proves it"), the way JCTools proves its safe classes do not load Unsafe.
 */
class JnaConfinementTest {

    /** A use of a JNA type: an import or a qualified name, not a mention in prose. */
    private static final Pattern JNA_USE = Pattern.compile("\\bcom\\.sun\\.jna(\\.[a-z][a-z0-9_]*)*\\.([A-Z*])");

    @Test
    void onlyLinuxMemoryIsCompiledAgainstJna() throws IOException, URISyntaxException {
        Path classes = Path.of(VirtualRegion.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> users;
        try (Stream<Path> files = Files.walk(classes)) {
            users = files.filter(p -> p.toString().endsWith(".class"))
                    .filter(p -> new String(readBytes(p), StandardCharsets.ISO_8859_1).contains("com/sun/jna/"))
                    .map(p -> classes.relativize(p).toString().replace('\\', '/'))
                    .sorted()
                    .collect(Collectors.toList());
        }
        assertEquals(List.of("io/slab4j/nativemem/LinuxMemory.class"), users);
    }

    @Test
    void noOtherModuleUsesJna() throws IOException {
        Path module = thisModule();
        Path root = module.getParent();
        if (!isProjectRoot(root)) {
            return; // built outside the project tree: nothing to compare against
        }
        List<String> offenders = sourcesOf(root, dir -> !dir.equals(module))
                .filter(file -> JNA_USE.matcher(readString(file)).find())
                .map(file -> root.relativize(file).toString())
                .sorted()
                .collect(Collectors.toList());
        assertTrue(offenders.isEmpty(), "only allocator-native may use com.sun.jna; found in " + offenders);
    }

    static Path thisModule() {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
    }

    /** Whether {@code root} holds slab4j's parent POM. */
    static boolean isProjectRoot(Path root) throws IOException {
        Path parentPom = root == null ? null : root.resolve("pom.xml");
        return parentPom != null && Files.isRegularFile(parentPom)
                && Files.readString(parentPom).contains("<artifactId>slab4j-parent</artifactId>");
    }

    /** The Java files under {@code src} of the modules of {@code root} that {@code modules} accepts. */
    static Stream<Path> sourcesOf(Path root, java.util.function.Predicate<Path> modules) throws IOException {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(modules)
                    .filter(dir -> Files.isRegularFile(dir.resolve("pom.xml")) && Files.isDirectory(dir.resolve("src")))
                    .flatMap(dir -> javaFiles(dir.resolve("src")))
                    .collect(Collectors.toList()).stream();
        }
    }

    private static Stream<Path> javaFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.toString().endsWith(".java")).collect(Collectors.toList()).stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String readString(Path file) {
        return new String(readBytes(file), StandardCharsets.UTF_8);
    }
}
