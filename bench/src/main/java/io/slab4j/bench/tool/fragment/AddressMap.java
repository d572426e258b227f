package io.slab4j.bench.tool.fragment;

import io.slab4j.bench.tool.Units;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/**
 * The address-space map at the end of a replay, as an image: the arena's quanta in address
 * order, left to right and top to bottom, {@link #WIDTH} cells a row; a cell is live (some
 * block holds it), committed (free, but in a granule a live block touches: memory the
 * process pays for without using) or free. When the arena has more quanta than fit
 * {@link #MAX_ROWS} rows, a cell stands for several quanta and shows their most common
 * state. A legend strip at the bottom names the colours and the scale.
 *
 * <p>Stateless; builds a new image per call.
 */
final class AddressMap {
    static final int WIDTH = 1024;
    static final int MAX_ROWS = 768;
    static final Color LIVE = new Color(0x1f, 0x4e, 0x9c);
    static final Color COMMITTED = new Color(0xf2, 0x9e, 0x38);
    static final Color FREE = new Color(0xe6, 0xe6, 0xe6);
    private static final int LEGEND = 36;

    private AddressMap() {
    }

    static BufferedImage render(Replay r) {
        long quanta = r.arenaBytes / r.quantum;
        long perCell = Math.max(1, (quanta + (long) WIDTH * MAX_ROWS - 1) / ((long) WIDTH * MAX_ROWS));
        int cells = (int) ((quanta + perCell - 1) / perCell);
        int rows = (cells + WIDTH - 1) / WIDTH;
        byte[] state = states(r, (int) quanta);
        BufferedImage image = new BufferedImage(WIDTH, rows + LEGEND, BufferedImage.TYPE_INT_RGB);
        for (int c = 0; c < cells; c++) {
            int[] counts = new int[3];
            long from = c * perCell;
            long to = Math.min(quanta, from + perCell);
            for (long q = from; q < to; q++) {
                counts[state[(int) q]]++;
            }
            int winner = counts[2] >= counts[1] && counts[2] >= counts[0] ? 2 : counts[1] >= counts[0] ? 1 : 0;
            image.setRGB(c % WIDTH, c / WIDTH, (winner == 2 ? LIVE : winner == 1 ? COMMITTED : FREE).getRGB());
        }
        legend(image, rows, r, perCell);
        return image;
    }

    /** Per quantum: 2 live, 1 committed but free, 0 free. */
    private static byte[] states(Replay r, int quanta) {
        byte[] state = new byte[quanta];
        for (int b = 0; b < r.addresses.length; b++) {
            long a = r.addresses[b];
            if (a != 0) {
                int first = (int) ((a - Replay.BASE) / r.quantum);
                int n = (int) (Trace.roundUp(r.trace.size(b), r.quantum) / r.quantum);
                for (int q = first; q < first + n; q++) {
                    state[q] = 2;
                }
            }
        }
        for (int q = 0; q < quanta; q++) {
            if (state[q] == 0 && r.commits.isCommitted(Replay.BASE + q * r.quantum)) {
                state[q] = 1;
            }
        }
        return state;
    }

    private static void legend(BufferedImage image, int top, Replay r, long perCell) {
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, top, WIDTH, LEGEND);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            int x = 8;
            int y = top + 22;
            for (Object[] entry : new Object[][]{{LIVE, "live"}, {COMMITTED, "committed, free"}, {FREE, "free"}}) {
                g.setColor((Color) entry[0]);
                g.fillRect(x, y - 11, 14, 14);
                g.setColor(Color.BLACK);
                g.drawString((String) entry[1], x + 20, y);
                x += 40 + g.getFontMetrics().stringWidth((String) entry[1]);
            }
            g.drawString(r.fit + " fit, " + r.trace.name() + ": arena " + Units.bytes(r.arenaBytes) + ", one cell = "
                    + Units.bytes(perCell * r.quantum) + ", " + WIDTH + " cells a row", x + 20, y);
        } finally {
            g.dispose();
        }
    }
}
