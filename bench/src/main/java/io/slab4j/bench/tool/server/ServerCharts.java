package io.slab4j.bench.tool.server;

import io.slab4j.bench.tool.ChartFiles;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The server charts, one line per allocator over the seconds since its server was up:
 * resident memory (VmRSS) of each child, the bytes each allocator held from the OS, and
 * throughput (under wrk the tool has no per-sample throughput, so that chart is left out).
 * Called once after the run, on the command's thread.
 */
final class ServerCharts {
    private static final double MIB = 1024.0 * 1024.0;

    private ServerCharts() {
    }

    static void write(ChartFiles files, List<ServerResult> results, long loadMs) {
        String idle = " (load for " + loadMs / 1000.0 + " s, then idle)";
        files.chart("server-rss", overTime(results, "Resident memory of each server JVM" + idle, "MiB",
                s -> s.rss() / MIB));
        files.chart("server-direct", overTime(results, "Direct memory the allocator holds (slab4j: committed)" + idle,
                "MiB", s -> s.direct() / MIB));
        boolean rates = results.stream().flatMap(r -> r.samples().stream()).allMatch(s -> s.requestsPerSecond() != null);
        if (rates) {
            files.chart("server-throughput", overTime(results, "Throughput" + idle, "requests/s",
                    ServerResult.Sample::requestsPerSecond));
        }
    }

    private static XYChart overTime(List<ServerResult> results, String title, String unit,
                                    ToDoubleFunction<ServerResult.Sample> y) {
        XYChart chart = new XYChartBuilder().width(900).height(500).title(title)
                .xAxisTitle("time (s)").yAxisTitle(unit).build();
        for (ServerResult r : results) {
            List<ServerResult.Sample> samples = r.samples();
            double[] xs = new double[Math.max(1, samples.size())];
            double[] ys = new double[xs.length];
            for (int i = 0; i < samples.size(); i++) {
                xs[i] = samples.get(i).timeMs() / 1000.0;
                ys[i] = y.applyAsDouble(samples.get(i));
            }
            chart.addSeries(r.allocator(), xs, ys).setMarker(SeriesMarkers.NONE);
        }
        return chart;
    }
}
