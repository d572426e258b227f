package io.slab4j.netty;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;

/**
 * Skips the inherited contract tests a test class names in its {@link Exclusions#excluded()}
 * map, reporting the reason written next to the name. Everything else runs.
 */
final class ExcludedByName implements ExecutionCondition {

    /** Implemented by a test class that leaves out tests of a suite it inherits. */
    interface Exclusions {
        /** Test method name → why it cannot apply. */
        Map<String, String> excluded();
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<Method> method = context.getTestMethod();
        Optional<Object> instance = context.getTestInstance();
        if (method.isEmpty() || instance.isEmpty() || !(instance.get() instanceof Exclusions exclusions)) {
            return ConditionEvaluationResult.enabled("not an excluded test");
        }
        String reason = exclusions.excluded().get(method.get().getName());
        return reason == null ? ConditionEvaluationResult.enabled("runs")
                : ConditionEvaluationResult.disabled("excluded by name: " + reason);
    }
}
