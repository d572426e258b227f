package io.slab4j.bench.tool;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the tool in-process with captured output, as a test would from a shell. */
record Cli(int status, String out, String err) {
    static Cli run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = BenchTool.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Cli(status, out.toString(), err.toString());
    }

    String firstErrLine() {
        int nl = err.indexOf('\n');
        return nl < 0 ? err : err.substring(0, nl);
    }

    @Override
    public String toString() {
        return "status " + status + "\n--- out\n" + out + "--- err\n" + err;
    }
}
