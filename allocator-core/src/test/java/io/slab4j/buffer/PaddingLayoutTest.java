package io.slab4j.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The objects one thread writes on every acquire and close ({@link ClassTally}, its
 * {@link ThreadState}, the large-span stripes, the cache's {@code ThreadMagazines}) lay out
 * as their comments say on the JVM running the tests: {@link LeadingPad}'s 128 bytes lie
 * between the header and every field of the class's own, and {@link ClassTally}'s written
 * counters have its 96 bytes of padding after them. Offsets come from
 * {@code sun.misc.Unsafe.objectFieldOffset}, reached by reflection (module jdk.unsupported
 * opens it; no compile-time reference, so no warning).
 */
class PaddingLayoutTest {
    static final int LEADING = 128;

    @ParameterizedTest
    @ValueSource(strings = {"io.slab4j.buffer.ClassTally", "io.slab4j.buffer.ThreadState",
            "io.slab4j.buffer.LargeSpans$Stripe", "io.slab4j.buffer.LargeSpans$Sized", "io.slab4j.cache.ThreadMagazines"})
    void everyOwnFieldLiesBehindTheLeadingPadding(String className) throws Exception {
        Class<?> k = Class.forName(className);
        List<Field> pad = new ArrayList<>();
        List<Field> own = new ArrayList<>();
        for (Class<?> c = k; c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (!Modifier.isStatic(f.getModifiers())) {
                    (c.getSimpleName().equals("LeadingPad") ? pad : own).add(f);
                }
            }
        }
        assertEquals(pad.size(), pad.size(), className + " extends a LeadingPad of an int and 16 longs");
        long padStart = Long.MAX_VALUE;
        long padEnd = 0;
        for (Field f : pad) {
            if (f.getType() == long.class) {
                padStart = Math.min(padStart, offset(f));
                padEnd = Math.max(padEnd, offset(f) + 8);
            }
        }
        assertEquals(LEADING, padEnd - padStart, className + ": the padding longs are one contiguous block");
        assertTrue(own.size() > 0, className);
        for (Field f : own) {
            assertTrue(offset(f) >= padEnd, className + "." + f.getName() + " is at offset " + offset(f)
                    + ", in front of the padding's end at " + padEnd);
        }
    }

    @Test
    void classTallysCountersHaveItsTrailingPaddingBehindThem() throws Exception {
        long writtenEnd = 0;
        for (String name : new String[] {"taken", "released", "seed", "hot"}) {
            writtenEnd = Math.max(writtenEnd, offset(ClassTally.class.getDeclaredField(name)) + 8);
        }
        long padStart = Long.MAX_VALUE;
        long padEnd = 0;
        for (int i = 0; i < 12; i++) {
            Field f = ClassTally.class.getDeclaredField("p" + i);
            padStart = Math.min(padStart, offset(f));
            padEnd = Math.max(padEnd, offset(f) + 8);
        }
        assertTrue(padStart >= writtenEnd, "ClassTally's trailing padding starts at " + padStart
                + ", before its written counters end at " + writtenEnd);
        assertEquals(96, padEnd - padStart, "ClassTally's trailing padding is one 96-byte block");
    }

    private static long offset(Field f) throws Exception {
        Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
        Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
        theUnsafe.setAccessible(true);
        Method objectFieldOffset = unsafeClass.getMethod("objectFieldOffset", Field.class);
        return (long) objectFieldOffset.invoke(theUnsafe.get(null), f);
    }
}
