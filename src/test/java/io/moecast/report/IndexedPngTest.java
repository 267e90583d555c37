package io.moecast.report;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IndexedPngTest {
    @Test
    void aNoisyLineChartShrinksAndKeepsItsSizeAndColours() throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        SplittableRandom r = new SplittableRandom(1);
        for (int s = 0; s < 8; s++) {
            XYSeries x = new XYSeries("s" + s);
            for (int i = 0; i < 2000; i++) {
                x.add(i, s + r.nextDouble());
            }
            data.addSeries(x);
        }
        JFreeChart c = ChartFactory.createXYLineChart("t", "step", "value", data);
        byte[] png = Charts.png(c, 900, 500);
        byte[] small = IndexedPng.of(png);
        assertTrue(small.length < png.length, small.length + " vs " + png.length);
        BufferedImage a = ImageIO.read(new ByteArrayInputStream(png));
        BufferedImage b = ImageIO.read(new ByteArrayInputStream(small));
        assertEquals(a.getWidth(), b.getWidth());
        assertEquals(a.getHeight(), b.getHeight());
        // the background and the most frequent colours are kept exactly
        assertEquals(a.getRGB(2, 2), b.getRGB(2, 2));
        long diff = 0;
        for (int y = 0; y < a.getHeight(); y += 3) {
            for (int x = 0; x < a.getWidth(); x += 3) {
                int p = a.getRGB(x, y);
                int q = b.getRGB(x, y);
                diff += Math.abs((p >> 16 & 255) - (q >> 16 & 255)) + Math.abs((p >> 8 & 255) - (q >> 8 & 255)) + Math.abs((p & 255) - (q & 255));
            }
        }
        double perPixel = diff / (a.getWidth() / 3.0 * a.getHeight() / 3.0);
        assertTrue(perPixel < 12, "mean colour error " + perPixel); // a broken palette (lines lost) is in the hundreds
    }
}
