package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * No doc comment is followed by another doc comment, in any module's sources. The first one then
 * documents nothing: JDK 25's javac warns about it ("documentation comment is not attached to any
 * declaration"), which the build's {@code -Werror} turns into a failed compile there, while the
 * JDK 17 javac that CI runs does not look (found twice, the second time in a test merged from a
 * review).
 */
class DocCommentsTest {


    @Test
    void noDocCommentIsFollowedByAnother() throws IOException {
        Path root = JnaConfinementTest.thisModule().getParent();
        if (!JnaConfinementTest.isProjectRoot(root)) {
            return; // built outside the project tree
        }
        List<String> offenders = JnaConfinementTest.sourcesOf(root, dir -> true)
                .filter(file -> hasTwoInARow(JnaConfinementTest.readString(file)))
                .map(file -> root.relativize(file).toString())
                .sorted()
                .collect(Collectors.toList());
        assertTrue(offenders.isEmpty(), "a doc comment followed by another (dangling on JDK 25) in " + offenders);
    }

    /** Whether a doc comment is followed, after blanks only, by another ({@code /*} before a doc comment is fine). */
    static boolean hasTwoInARow(String source) {
        for (int at = source.indexOf("/**"); at >= 0; at = source.indexOf("/**", at + 3)) {
            int end = source.indexOf("*/", at + 3);
            if (end < 0) {
                return false;
            }
            int next = end + 2;
            while (next < source.length() && Character.isWhitespace(source.charAt(next))) {
                next++;
            }
            if (source.startsWith("/**", next)) {
                return true;
            }
            at = end - 1; // the next doc comment starts after this one ends
        }
        return false;
    }

    @Test
    void theCheckSeesTwoInARowAndNothingElse() {
        assertTrue(hasTwoInARow("/** a */\n    /** b */ void f();"));
        assertTrue(!hasTwoInARow("/* licence */\n/** the class */ class C {}"));
        assertTrue(!hasTwoInARow("/** a */ int x;\n/** b */ int y;"));
        assertTrue(!hasTwoInARow("/** unterminated"));
    }
}
