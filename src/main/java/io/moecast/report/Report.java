package io.moecast.report;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A document built once and rendered twice: Markdown (readable on GitHub; charts as PNG files next to
 * it) and a self-contained HTML page (charts embedded as data URIs). Blocks are headings, paragraphs,
 * tables, preformatted text and charts.
 *
 * <pre>{@code
 * Report r = new Report("moecast run");
 * r.h2("Trace").p("6000 steps ...").table(header, rows).chart("loads.png", "Loads", png);
 * results.writeText("report.md", r.markdown());
 * results.writeText("report.html", r.html());
 * r.charts().forEach(c -> results.writeBytes(c.file(), c.png()));
 * }</pre>
 */
public final class Report {
    private sealed interface Block permits Heading, Para, Table, Pre, Chart {
    }

    private record Heading(int level, String text) implements Block {
    }

    private record Para(String text) implements Block {
    }

    private record Table(List<String> header, List<List<String>> rows) implements Block {
    }

    private record Pre(String text) implements Block {
    }

    /** A chart: its file name, caption and PNG bytes. */
    public record Chart(String file, String caption, byte[] png) implements Block {
    }

    private final String title;
    private final List<Block> blocks = new ArrayList<>();

    public Report(String title) {
        this.title = title;
    }

    public Report h2(String text) {
        blocks.add(new Heading(2, text));
        return this;
    }

    public Report h3(String text) {
        blocks.add(new Heading(3, text));
        return this;
    }

    /** A paragraph; inline Markdown ({@code **bold**}, {@code `code`}) is kept in Markdown and rendered in HTML. */
    public Report p(String text) {
        blocks.add(new Para(text));
        return this;
    }

    public Report table(List<String> header, List<List<String>> rows) {
        blocks.add(new Table(List.copyOf(header), rows.stream().map(List::copyOf).toList()));
        return this;
    }

    public Report pre(String text) {
        blocks.add(new Pre(text));
        return this;
    }

    public Report chart(String file, String caption, byte[] png) {
        blocks.add(new Chart(file, caption, png));
        return this;
    }

    public List<Chart> charts() {
        return blocks.stream().filter(b -> b instanceof Chart).map(b -> (Chart) b).toList();
    }

    public String markdown() {
        StringBuilder sb = new StringBuilder("# ").append(title).append("\n\n");
        for (Block b : blocks) {
            switch (b) {
                case Heading h -> sb.append("#".repeat(h.level())).append(' ').append(h.text()).append("\n\n");
                case Para p -> sb.append(p.text()).append("\n\n");
                case Pre p -> sb.append("```\n").append(p.text().stripTrailing()).append("\n```\n\n");
                case Chart c -> sb.append("![").append(c.caption()).append("](").append(c.file()).append(")\n\n");
                case Table t -> {
                    sb.append("| ").append(String.join(" | ", t.header())).append(" |\n|");
                    for (int i = 0; i < t.header().size(); i++) {
                        sb.append(i == 0 ? "---|" : "---:|");
                    }
                    sb.append('\n');
                    for (List<String> r : t.rows()) {
                        sb.append("| ").append(String.join(" | ", r.stream().map(s -> s.replace("|", "\\|")).toList())).append(" |\n");
                    }
                    sb.append('\n');
                }
            }
        }
        return sb.toString();
    }

    public String html() {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n")
                .append("<style>body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}")
                .append("table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px}th{background:#f3f3f3}")
                .append("td{text-align:right}td:first-child,th:first-child{text-align:left}pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:13px}")
                .append("figure{margin:1.2em 0}figcaption{color:#555;font-size:13px}img{max-width:100%;border:1px solid #eee}code{background:#f3f3f3;padding:0 3px}</style>\n")
                .append("</head><body>\n<h1>").append(esc(title)).append("</h1>\n");
        for (Block b : blocks) {
            switch (b) {
                case Heading h -> sb.append("<h").append(h.level()).append('>').append(inline(h.text())).append("</h").append(h.level()).append(">\n");
                case Para p -> sb.append("<p>").append(inline(p.text())).append("</p>\n");
                case Pre p -> sb.append("<pre>").append(esc(p.text())).append("</pre>\n");
                case Chart c -> sb.append("<figure><img alt=\"").append(esc(c.caption())).append("\" src=\"data:image/png;base64,")
                        .append(Base64.getEncoder().encodeToString(c.png())).append("\"><figcaption>").append(esc(c.caption())).append("</figcaption></figure>\n");
                case Table t -> {
                    sb.append("<table><thead><tr>");
                    for (String h : t.header()) {
                        sb.append("<th>").append(inline(h)).append("</th>");
                    }
                    sb.append("</tr></thead><tbody>\n");
                    for (List<String> r : t.rows()) {
                        sb.append("<tr>");
                        for (String c : r) {
                            sb.append("<td>").append(inline(c)).append("</td>");
                        }
                        sb.append("</tr>\n");
                    }
                    sb.append("</tbody></table>\n");
                }
            }
        }
        return sb.append("</body></html>\n").toString();
    }

    /** HTML-escapes, then renders **bold**, `code` and [text](link). */
    static String inline(String s) {
        String e = esc(s);
        e = e.replaceAll("\\*\\*(.+?)\\*\\*", "<b>$1</b>");
        e = e.replaceAll("`(.+?)`", "<code>$1</code>");
        e = e.replaceAll("\\[([^\\]]+)\\]\\(([^)\\s]+)\\)", "<a href=\"$2\">$1</a>");
        return e;
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** Writes report.md, report.html and the chart PNGs into a results folder. */
    public void writeTo(ResultsWriter w, String baseName) {
        for (Chart c : charts()) {
            w.writeBytes(c.file(), c.png());
        }
        w.writeText(baseName + ".md", markdown());
        w.writeBytes(baseName + ".html", html().getBytes(StandardCharsets.UTF_8));
    }
}
