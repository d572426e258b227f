package io.slab4j.bench.tool;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text summary table: a header row, a rule, then rows; a column is right-aligned
 * when it was declared numeric. Cells are strings already formatted by the caller.
 *
 * <p>Not thread-safe: one thread builds and prints it.
 */
public final class Table {
    private final List<String> headers = new ArrayList<>();
    private final List<Boolean> numeric = new ArrayList<>();
    private final List<List<String>> rows = new ArrayList<>();

    public Table column(String header, boolean isNumeric) {
        headers.add(header);
        numeric.add(isNumeric);
        return this;
    }

    public Table row(Object... cells) {
        if (cells.length != headers.size()) {
            throw new IllegalArgumentException("row has " + cells.length + " cells for " + headers.size() + " columns");
        }
        List<String> row = new ArrayList<>();
        for (Object c : cells) {
            row.add(String.valueOf(c));
        }
        rows.add(row);
        return this;
    }

    public void print(PrintWriter out) {
        int[] width = new int[headers.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = headers.get(c).length();
            for (List<String> row : rows) {
                width[c] = Math.max(width[c], row.get(c).length());
            }
        }
        out.println(line(headers, width));
        StringBuilder rule = new StringBuilder();
        for (int c = 0; c < width.length; c++) {
            rule.append(c == 0 ? "" : "  ").append("-".repeat(width[c]));
        }
        out.println(rule);
        for (List<String> row : rows) {
            out.println(line(row, width));
        }
        out.flush();
    }

    private String line(List<String> cells, int[] width) {
        StringBuilder b = new StringBuilder();
        for (int c = 0; c < width.length; c++) {
            String cell = cells.get(c);
            String pad = " ".repeat(width[c] - cell.length());
            b.append(c == 0 ? "" : "  ").append(numeric.get(c) ? pad + cell : cell + (c == width.length - 1 ? "" : pad));
        }
        return b.toString();
    }
}
