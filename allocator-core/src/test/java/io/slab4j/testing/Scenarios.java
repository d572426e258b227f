package io.slab4j.testing;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import kotlin.Unit;
import kotlin.jvm.functions.Function1;
import kotlin.reflect.KFunction;
import kotlin.reflect.jvm.ReflectJvmMapping;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionResult;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.execution.ResultWithClock;
import org.jetbrains.kotlinx.lincheck.util.LincheckResult;
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

    /** One operation of an execution and what it returned, for custom verifiers. */
    public record Outcome(Actor actor, LincheckResult result) {
        public String operation() {
            return actor.getMethod().getName();
        }
    }

    /** Every operation of an execution with its result: initial part, each parallel thread, post part. */
    public static List<Outcome> outcomes(ExecutionScenario scenario, ExecutionResult results) {
        List<Outcome> all = new ArrayList<>();
        addAll(all, scenario.getInitExecution(), results.getInitResults());
        for (int t = 0; t < scenario.getParallelExecution().size(); t++) {
            List<LincheckResult> thread = new ArrayList<>();
            for (ResultWithClock r : results.getParallelResultsWithClock().get(t)) {
                thread.add(r.getResult());
            }
            addAll(all, scenario.getParallelExecution().get(t), thread);
        }
        addAll(all, scenario.getPostExecution(), results.getPostResults());
        return all;
    }

    private static void addAll(List<Outcome> all, List<Actor> actors, List<LincheckResult> results) {
        for (int i = 0; i < actors.size(); i++) {
            all.add(new Outcome(actors.get(i), results.get(i)));
        }
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
