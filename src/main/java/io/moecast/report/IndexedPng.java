package io.moecast.report;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Re-encodes a chart PNG with a 256-colour palette (the chart's most frequent colours; every other
 * colour, mostly anti-aliasing blends, maps to its nearest palette colour). Line charts with many
 * noisy series shrink 3-5 times and look the same, which keeps committed result charts small.
 */
public final class IndexedPng {
    private IndexedPng() {
    }

    /** The indexed version of {@code png}, or {@code png} itself when that is not smaller. */
    public static byte[] of(byte[] png) {
        try {
            BufferedImage src = ImageIO.read(new ByteArrayInputStream(png));
            if (src == null) {
                return png;
            }
            int w = src.getWidth();
            int h = src.getHeight();
            int[] rgb = src.getRGB(0, 0, w, h, null, 0, w);
            Map<Integer, int[]> freq = new HashMap<>();
            for (int p : rgb) {
                freq.computeIfAbsent(p & 0xFFFFFF, k -> new int[1])[0]++;
            }
            int[] colours = freq.entrySet().stream()
                    .sorted((a, b) -> a.getValue()[0] != b.getValue()[0] ? Integer.compare(b.getValue()[0], a.getValue()[0]) : Integer.compare(a.getKey(), b.getKey()))
                    .limit(256).mapToInt(Map.Entry::getKey).toArray();
            byte[] r = new byte[colours.length];
            byte[] g = new byte[colours.length];
            byte[] b = new byte[colours.length];
            for (int i = 0; i < colours.length; i++) {
                r[i] = (byte) (colours[i] >> 16);
                g[i] = (byte) (colours[i] >> 8);
                b[i] = (byte) colours[i];
            }
            IndexColorModel cm = new IndexColorModel(8, colours.length, r, g, b);
            BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, cm);
            Map<Integer, Integer> nearest = new HashMap<>();
            byte[] idx = new byte[w * h];
            for (int i = 0; i < rgb.length; i++) {
                int c = rgb[i] & 0xFFFFFF;
                idx[i] = (byte) (int) nearest.computeIfAbsent(c, k -> closest(k, colours));
            }
            out.getRaster().setDataElements(0, 0, w, h, idx);
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            ImageIO.write(out, "png", bos);
            byte[] small = bos.toByteArray();
            return small.length < png.length ? small : png;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int closest(int c, int[] palette) {
        int cr = c >> 16 & 0xFF;
        int cg = c >> 8 & 0xFF;
        int cb = c & 0xFF;
        int best = 0;
        long bestD = Long.MAX_VALUE;
        for (int i = 0; i < palette.length; i++) {
            int p = palette[i];
            long dr = cr - (p >> 16 & 0xFF);
            long dg = cg - (p >> 8 & 0xFF);
            long db = cb - (p & 0xFF);
            long d = 2 * dr * dr + 4 * dg * dg + 3 * db * db;
            if (d < bestD) {
                bestD = d;
                best = i;
            }
        }
        return best;
    }

}
