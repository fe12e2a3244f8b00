/**
 * Builds a JSON value that satisfies a (structured-output style) JSON schema: every required
 * property, `minItems` items (at least one), the first enum value, numbers inside their range.
 * Strings come from `text(path)`, so a fake model can answer any step with plausible content.
 */
type Schema = Record<string, unknown>;

export function sampleFromSchema(
  schema: Schema,
  text: (path: string[]) => string = (path) => `sample ${path.join(".")}`,
  root: Schema = schema,
  path: string[] = [],
): unknown {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace(/^#\/\$defs\//, "");
    const defs = (root.$defs ?? {}) as Record<string, Schema>;
    const target = defs[name];
    if (!target) throw new Error(`unresolved $ref ${schema.$ref}`);
    return sampleFromSchema(target, text, root, path);
  }
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.anyOf)) return sampleFromSchema(schema.anyOf[0] as Schema, text, root, path);
  switch (schema.type) {
    case "object": {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      return Object.fromEntries(
        Object.entries(props).map(([k, v]) => [k, sampleFromSchema(v, text, root, [...path, k])]),
      );
    }
    case "array": {
      const n = Math.max(1, Number(schema.minItems ?? 1));
      return Array.from({ length: n }, (_, i) =>
        sampleFromSchema(schema.items as Schema, text, root, [...path, String(i)]),
      );
    }
    case "number":
    case "integer":
      return 0.8;
    case "boolean":
      return true;
    case "string":
      return text(path);
    default:
      return null;
  }
}
