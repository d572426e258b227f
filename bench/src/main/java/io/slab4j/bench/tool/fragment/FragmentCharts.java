package io.slab4j.bench.tool.fragment;

import io.slab4j.bench.tool.ChartFiles;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The fragment charts: external fragmentation over time and committed/live bytes over time
 * (a line per fit), large-allocation success by occupancy (bars per fit), and an
 * address-space map per fit ({@link AddressMap}). Called once after the run, on the
 * command's thread.
 */
final class FragmentCharts {
    private static final double MIB = 1024.0 * 1024.0;

    private FragmentCharts() {
    }

    static void write(ChartFiles files, List<FragmentResult> results, List<Replay> replays, String traceName) {
        files.chart("fragment-fragmentation", fragmentation(results, traceName));
        files.chart("fragment-memory", memory(results, traceName));
        files.chart("fragment-large-success", largeSuccess(results));
        for (Replay r : replays) {
            files.image("fragment-map-" + r.fit.name().toLowerCase(Locale.ROOT), AddressMap.render(r));
        }
    }

    private static XYChart fragmentation(List<FragmentResult> results, String traceName) {
        XYChart chart = new XYChartBuilder().width(900).height(500)
                .title("External fragmentation (1 - largest free / free), " + traceName)
                .xAxisTitle("events").yAxisTitle("fragmentation").build();
        for (FragmentResult r : results) {
            double[][] xy = series(r, s -> s.fragmentation());
            chart.addSeries(r.fit().name(), xy[0], xy[1]).setMarker(SeriesMarkers.NONE);
        }
        return chart;
    }

    private static XYChart memory(List<FragmentResult> results, String traceName) {
        XYChart chart = new XYChartBuilder().width(900).height(500).title("Committed and live bytes, " + traceName)
                .xAxisTitle("events").yAxisTitle("MiB").build();
        for (FragmentResult r : results) {
            double[][] xy = series(r, s -> s.committed() / MIB);
            chart.addSeries(r.fit().name() + " committed", xy[0], xy[1]).setMarker(SeriesMarkers.NONE);
        }
        for (FragmentResult r : results) {
            double[][] xy = series(r, s -> s.live() / MIB);
            chart.addSeries(r.fit().name() + " live", xy[0], xy[1]).setMarker(SeriesMarkers.NONE);
        }
        return chart;
    }

    private static CategoryChart largeSuccess(List<FragmentResult> results) {
        CategoryChart chart = new CategoryChartBuilder().width(900).height(500)
                .title("Would a large allocation succeed? Share of probes, by arena occupancy")
                .xAxisTitle("occupancy (allocated / arena)").yAxisTitle("success rate").build();
        for (FragmentResult r : results) {
            List<String> bands = new ArrayList<>();
            List<Number> rates = new ArrayList<>();
            for (FragmentResult.OccupancyBucket b : r.byOccupancy()) {
                bands.add(String.format(Locale.ROOT, "%.0f-%.0f%%", b.from() * 100, b.to() * 100));
                rates.add(b.probes() == 0 ? 0.0 : b.successes() / (double) b.probes());
            }
            chart.addSeries(r.fit().name(), bands, rates);
        }
        return chart;
    }

    private static double[][] series(FragmentResult r, java.util.function.ToDoubleFunction<FragmentResult.Sample> y) {
        List<FragmentResult.Sample> samples = r.samples();
        double[] xs = new double[samples.size()];
        double[] ys = new double[samples.size()];
        for (int i = 0; i < samples.size(); i++) {
            xs[i] = samples.get(i).event();
            ys[i] = y.applyAsDouble(samples.get(i));
        }
        return new double[][]{xs, ys};
    }
}
