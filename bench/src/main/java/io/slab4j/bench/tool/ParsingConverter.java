package io.slab4j.bench.tool;

import picocli.CommandLine;

import java.util.function.Function;

/**
 * A picocli converter made of a parse function that rejects bad text with an
 * {@link IllegalArgumentException} naming the value and what was expected: that message
 * becomes picocli's conversion error, which the tool prints as the one usage line
 * ({@code Invalid value for option '--X': MESSAGE}). Subclasses only name the function, in a
 * no-argument constructor, since picocli instantiates converters from their class.
 *
 * <p>Stateless; thread-safe if the function is.
 */
public abstract class ParsingConverter<T> implements CommandLine.ITypeConverter<T> {
    private final Function<String, T> parse;

    protected ParsingConverter(Function<String, T> parse) {
        this.parse = parse;
    }

    @Override
    public final T convert(String value) {
        try {
            return parse.apply(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
