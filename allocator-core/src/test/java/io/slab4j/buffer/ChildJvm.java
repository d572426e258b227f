package io.slab4j.buffer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs a class's {@code main} in a fresh JVM on the test class path (no module flags unless given) and collects its output. */
final class ChildJvm {
    /** The child's exit code and its stdout and stderr together. */
    record Result(int code, String output) {
        /** The output's last 4000 characters, for assertion messages. */
        String tail() {
            return output.length() > 4000 ? output.substring(output.length() - 4000) : output;
        }
    }

    private ChildJvm() {
    }

    static Result run(List<String> jvmFlags, Class<?> main, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out);
    }
}
