package io.slab4j.event;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import kotlin.Unit;
import kotlin.jvm.functions.Function1;
import kotlin.reflect.KFunction;
import kotlin.reflect.jvm.ReflectJvmMapping;
import org.jetbrains.lincheck.datastructures.DSLScenarioBuilder;
import org.jetbrains.lincheck.datastructures.DSLThreadScenario;

/**
 * Test helper: Lincheck custom scenarios from Java (Lincheck's DSL is Kotlin). Used where
 * random scenarios cannot work: blocking operations must be paired with enough sends
 * that every one of them can return, so a hang can only mean a lost value.
 */
public final class Scenarios {
    private Scenarios() {
    }

    /** One operation call: a public method of the test class and its arguments. */
    public static final class Call {
        final KFunction<?> function;
        final Object[] args;

        Call(KFunction<?> function, Object[] args) {
            this.function = function;
            this.args = args;
        }
    }

    public static Call call(Class<?> testClass, String name, Object... args) {
        for (Method m : testClass.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                return new Call(ReflectJvmMapping.getKotlinFunction(m), args);
            }
        }
        throw new IllegalArgumentException(testClass.getSimpleName() + " has no public " + name + "/" + args.length);
    }

    public static List<Call> thread(Call... calls) {
        return Arrays.asList(calls);
    }

    /** A scenario: the given parallel threads, then {@code post} sequentially. */
    public static Function1<DSLScenarioBuilder, Unit> scenario(List<List<Call>> threads, List<Call> post) {
        return scenario(List.of(), threads, post);
    }

    /** A scenario: {@code initial} sequentially, then the parallel threads, then {@code post}. */
    public static Function1<DSLScenarioBuilder, Unit> scenario(List<Call> initial, List<List<Call>> threads, List<Call> post) {
        return b -> {
            if (!initial.isEmpty()) {
                b.initial(t -> add(t, initial));
            }
            b.parallel(p -> {
                for (List<Call> calls : threads) {
                    p.thread(t -> add(t, calls));
                }
                return Unit.INSTANCE;
            });
            if (!post.isEmpty()) {
                b.post(t -> add(t, post));
            }
            return Unit.INSTANCE;
        };
    }

    private static Unit add(DSLThreadScenario t, List<Call> calls) {
        for (Call c : calls) {
            t.actor(c.function, c.args);
        }
        return Unit.INSTANCE;
    }
}
