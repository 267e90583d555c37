package io.moecast.report;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportTest {
    @Test
    void rendersMarkdownAndSelfContainedHtml() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G'};
        Report r = new Report("t <1>")
                .h2("Section").p("a **bold** `x` [link](a.md)")
                .table(List.of("name", "value"), List.of(List.of("a|b", "1.0")))
                .chart("c.png", "cap", png);
        String md = r.markdown();
        assertTrue(md.contains("## Section"));
        assertTrue(md.contains("| a\\|b | 1.0 |"));
        assertTrue(md.contains("![cap](c.png)"));
        String html = r.html();
        assertTrue(html.contains("<b>bold</b>"));
        assertTrue(html.contains("<code>x</code>"));
        assertTrue(html.contains("data:image/png;base64,iVBORw=="));
        assertTrue(html.contains("t &lt;1&gt;"));
        assertFalse(html.contains("c.png\""), "charts are embedded, not linked");
    }
}
