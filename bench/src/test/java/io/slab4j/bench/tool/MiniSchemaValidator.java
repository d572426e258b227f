package io.slab4j.bench.tool;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A JSON Schema (draft-07) validator for the subset slab4j-bench's schema uses: {@code type}
 * (one or several), {@code properties}, {@code required}, {@code additionalProperties: false},
 * {@code items}, {@code minItems}, {@code enum}, {@code const}, {@code minimum},
 * {@code maximum}, {@code oneOf}, and {@code $ref} to {@code #/definitions/NAME}. Any other
 * keyword except annotations ({@code $schema}, {@code $id}, {@code title},
 * {@code description}, {@code definitions}) is an error, so the schema cannot silently
 * use something this validator ignores.
 *
 * <p>Stateless apart from the root schema; one validation at a time.
 */
final class MiniSchemaValidator {
    private static final List<String> KNOWN = List.of("type", "properties", "required", "additionalProperties", "items",
            "minItems", "enum", "const", "minimum", "maximum", "oneOf", "$ref", "$schema", "$id", "title",
            "description", "definitions");

    private final JsonNode root;

    MiniSchemaValidator(JsonNode root) {
        this.root = root;
    }

    /** Every violation, as "path: problem"; empty when the document is valid. */
    List<String> validate(JsonNode doc) {
        List<String> errors = new ArrayList<>();
        check(root, doc, "$", errors);
        return errors;
    }

    private void check(JsonNode schema, JsonNode v, String path, List<String> errors) {
        for (Map.Entry<String, JsonNode> entry : schema.properties()) {
            String k = entry.getKey();
            if (!KNOWN.contains(k)) {
                throw new IllegalArgumentException("schema keyword '" + k + "' at " + path + " is not supported");
            }
        }
        if (schema.has("$ref")) {
            check(resolve(schema.get("$ref").asText()), v, path, errors);
        }
        if (schema.has("type") && !typeMatches(schema.get("type"), v)) {
            errors.add(path + ": " + v.getNodeType() + " is not of type " + schema.get("type"));
            return;
        }
        if (schema.has("const") && !schema.get("const").equals(v)) {
            errors.add(path + ": " + v + " is not " + schema.get("const"));
        }
        if (schema.has("enum")) {
            boolean found = false;
            for (JsonNode e : schema.get("enum")) {
                found |= e.equals(v);
            }
            if (!found) {
                errors.add(path + ": " + v + " is not one of " + schema.get("enum"));
            }
        }
        if (v.isNumber()) {
            if (schema.has("minimum") && v.asDouble() < schema.get("minimum").asDouble()) {
                errors.add(path + ": " + v + " is below the minimum " + schema.get("minimum"));
            }
            if (schema.has("maximum") && v.asDouble() > schema.get("maximum").asDouble()) {
                errors.add(path + ": " + v + " is above the maximum " + schema.get("maximum"));
            }
        }
        if (v.isObject()) {
            object(schema, v, path, errors);
        }
        if (v.isArray()) {
            if (schema.has("minItems") && v.size() < schema.get("minItems").asInt()) {
                errors.add(path + ": " + v.size() + " items, fewer than " + schema.get("minItems"));
            }
            if (schema.has("items")) {
                for (int i = 0; i < v.size(); i++) {
                    check(schema.get("items"), v.get(i), path + "[" + i + "]", errors);
                }
            }
        }
        if (schema.has("oneOf")) {
            int matches = 0;
            List<String> why = new ArrayList<>();
            for (JsonNode branch : schema.get("oneOf")) {
                List<String> e = new ArrayList<>();
                check(branch, v, path, e);
                if (e.isEmpty()) {
                    matches++;
                } else {
                    why.addAll(e);
                }
            }
            if (matches != 1) {
                errors.add(path + ": matches " + matches + " branches of oneOf, not exactly one" + (matches == 0 ? " " + why : ""));
            }
        }
    }

    private void object(JsonNode schema, JsonNode v, String path, List<String> errors) {
        if (schema.has("required")) {
            for (JsonNode r : schema.get("required")) {
                if (!v.has(r.asText())) {
                    errors.add(path + ": required property '" + r.asText() + "' is missing");
                }
            }
        }
        JsonNode props = schema.get("properties");
        boolean closed = schema.has("additionalProperties") && !schema.get("additionalProperties").asBoolean(true);
        for (Map.Entry<String, JsonNode> f : v.properties()) {
            if (props != null && props.has(f.getKey())) {
                check(props.get(f.getKey()), f.getValue(), path + "." + f.getKey(), errors);
            } else if (closed) {
                errors.add(path + ": property '" + f.getKey() + "' is not in the schema");
            }
        }
    }

    private JsonNode resolve(String ref) {
        String prefix = "#/definitions/";
        if (!ref.startsWith(prefix) || !root.path("definitions").has(ref.substring(prefix.length()))) {
            throw new IllegalArgumentException("unresolvable $ref " + ref);
        }
        return root.get("definitions").get(ref.substring(prefix.length()));
    }

    private static boolean typeMatches(JsonNode type, JsonNode v) {
        if (type.isArray()) {
            for (JsonNode t : type) {
                if (typeMatches(t, v)) {
                    return true;
                }
            }
            return false;
        }
        return switch (type.asText()) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            case "integer" -> v.isIntegralNumber() || v.isNumber() && v.asDouble() == Math.rint(v.asDouble());
            case "number" -> v.isNumber();
            default -> throw new IllegalArgumentException("unknown type " + type);
        };
    }
}
