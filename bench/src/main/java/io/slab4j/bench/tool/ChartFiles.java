package io.slab4j.bench.tool;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.internal.chartpart.Chart;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes charts into the {@code --charts} directory: each XChart chart as {@code NAME.png}
 * and {@code NAME.svg}, each plain image (an address-space map) as {@code NAME.png}, and
 * remembers what it wrote so the command can list the files.
 *
 * <p>Not thread-safe: the command's thread writes all charts after the run.
 */
public final class ChartFiles {
    private final Path dir;
    private final List<Path> written = new ArrayList<>();

    public ChartFiles(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the charts directory " + dir + ": " + e.getMessage(), e);
        }
    }

    public void chart(String name, Chart<?, ?> chart) {
        Path png = dir.resolve(name + ".png");
        Path svg = dir.resolve(name + ".svg");
        try {
            BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
            VectorGraphicsEncoder.saveVectorGraphic(chart, svg.toString(), VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write chart " + name + " into " + dir + ": " + e.getMessage(), e);
        }
        written.add(png);
        written.add(svg);
    }

    public void image(String name, BufferedImage image) {
        Path png = dir.resolve(name + ".png");
        try {
            if (!ImageIO.write(image, "png", png.toFile())) {
                throw new IllegalStateException("no PNG writer for " + png);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write image " + png + ": " + e.getMessage(), e);
        }
        written.add(png);
    }

    public List<Path> written() {
        return List.copyOf(written);
    }
}
