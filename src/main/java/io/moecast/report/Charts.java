package io.moecast.report;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.Plot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.plot.CategoryPlot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** PNG rendering with one house style (white background, light grid, legible fonts). */
public final class Charts {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {
    }

    /** Applies the house style and renders to PNG bytes. */
    public static byte[] png(JFreeChart chart, int width, int height) {
        style(chart);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ChartUtils.writeChartAsPNG(out, chart, width, height);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static void style(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.setAntiAlias(true);
        if (chart.getTitle() != null) {
            chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        }
        Plot plot = chart.getPlot();
        plot.setBackgroundPaint(Color.WHITE);
        if (plot instanceof XYPlot xy) {
            xy.setDomainGridlinePaint(new Color(0xDDDDDD));
            xy.setRangeGridlinePaint(new Color(0xDDDDDD));
            xy.setDomainGridlineStroke(new BasicStroke(0.6f));
            xy.setRangeGridlineStroke(new BasicStroke(0.6f));
            Font f = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
            // a combined plot (CombinedDomainXYPlot) has no range axis of its own: its subplots do
            for (int i = 0; i < xy.getDomainAxisCount(); i++) {
                if (xy.getDomainAxis(i) != null) {
                    xy.getDomainAxis(i).setLabelFont(f.deriveFont(Font.BOLD));
                    xy.getDomainAxis(i).setTickLabelFont(f);
                }
            }
            for (int i = 0; i < xy.getRangeAxisCount(); i++) {
                if (xy.getRangeAxis(i) != null) {
                    xy.getRangeAxis(i).setLabelFont(f.deriveFont(Font.BOLD));
                    xy.getRangeAxis(i).setTickLabelFont(f);
                }
            }
        } else if (plot instanceof CategoryPlot cp) {
            cp.setRangeGridlinePaint(new Color(0xDDDDDD));
            Font f = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
            cp.getDomainAxis().setLabelFont(f.deriveFont(Font.BOLD));
            cp.getRangeAxis().setLabelFont(f.deriveFont(Font.BOLD));
            cp.getDomainAxis().setTickLabelFont(f);
            cp.getRangeAxis().setTickLabelFont(f);
        }
    }
}
