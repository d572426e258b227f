package io.slab4j.bench.tool.scarcity;

import io.slab4j.bench.tool.ChartFiles;
import io.slab4j.bench.tool.Percentiles;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.util.List;
import java.util.function.ToLongFunction;

/**
 * The scarcity charts: committed bytes and wasted bytes over time (one line per strategy),
 * and get durations by percentile (a line per strategy, log scale). Called once after
 * the run, on the command's thread.
 */
final class ScarcityCharts {
    private static final double MIB = 1024.0 * 1024.0;

    private ScarcityCharts() {
    }

    static void write(ChartFiles files, List<ScarcityResult> results) {
        files.chart("scarcity-committed", overTime(results, "Committed bytes in the arena", ScarcityResult.Sample::committed));
        files.chart("scarcity-wasted", overTime(results, "Pool items committed but not held", ScarcityResult.Sample::wasted));
        files.chart("scarcity-wait", waits(results));
    }

    private static XYChart overTime(List<ScarcityResult> results, String title, ToLongFunction<ScarcityResult.Sample> y) {
        XYChart chart = new XYChartBuilder().width(900).height(500).title(title)
                .xAxisTitle("time (s)").yAxisTitle("MiB").build();
        for (ScarcityResult r : results) {
            List<ScarcityResult.Sample> samples = r.samples();
            double[] xs = new double[Math.max(1, samples.size())];
            double[] ys = new double[xs.length];
            for (int i = 0; i < samples.size(); i++) {
                xs[i] = samples.get(i).timeMs() / 1000.0;
                ys[i] = y.applyAsLong(samples.get(i)) / MIB;
            }
            chart.addSeries(r.strategy().name(), xs, ys).setMarker(SeriesMarkers.NONE);
        }
        return chart;
    }

    private static XYChart waits(List<ScarcityResult> results) {
        XYChart chart = new XYChartBuilder().width(900).height(500)
                .title("Get duration by percentile (a hung get ends when the watchdog interrupts it)")
                .xAxisTitle("percentile").yAxisTitle("microseconds (log)").build();
        chart.getStyler().setYAxisLogarithmic(true);
        String[] labels = {"p50", "p90", "p99", "p99.9", "max"};
        chart.setCustomXAxisTickLabelsFormatter(x -> x == Math.rint(x) && x >= 0 && x < labels.length
                ? labels[(int) Math.rint(x)] : "");
        double[] nines = {0, 1, 2, 3, 4};
        for (ScarcityResult r : results) {
            Percentiles p = r.waitTime();
            long[] v = {p.p50(), p.p90(), p.p99(), p.p999(), p.max()};
            double[] micros = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                micros[i] = Math.max(0.01, v[i] / 1e3);
            }
            chart.addSeries(r.strategy().name(), nines, micros);
        }
        return chart;
    }
}
