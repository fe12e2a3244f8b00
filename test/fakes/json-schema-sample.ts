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
      const labels = attemptLabels(schema.items as Schema, root);
      if (labels)
        return labels.map((attempt, i) => ({
          ...(sampleFromSchema(schema.items as Schema, text, root, [...path, String(i)]) as Schema),
          attempt,
        }));
      const n = Math.max(1, Number(schema.minItems ?? 1));
      return Array.from({ length: n }, (_, i) =>
        sampleFromSchema(schema.items as Schema, text, root, [...path, String(i)]),
      );
    }
    case "number":
      return 0.8;
    case "integer":
      return Math.round(Number(schema.maximum ?? 10) * 0.8);
    case "boolean":
      return true;
    case "string":
      return text(path);
    default:
      return null;
  }
}

/**
 * For the synthesis's `attempts` list, whose items' `attempt` is an enum of the labels the problem
 * names and must name each exactly once: those labels; else undefined.
 */
function attemptLabels(items: Schema, root: Schema): string[] | undefined {
  const defs = (root.$defs ?? {}) as Record<string, Schema>;
  const node = typeof items.$ref === "string" ? (defs[items.$ref.replace("#/$defs/", "")] ?? {}) : items;
  const attempt = (node.properties as Record<string, Schema> | undefined)?.attempt;
  return attempt && Array.isArray(attempt.enum) ? (attempt.enum as string[]) : undefined;
}

/**
 * A valid answer for any step's schema, with every string set to `text` except lens ids, which
 * take the first allowed value (enum) or a real catalogue id. Lens lists get three lenses, a list
 * of attempts one entry per attempt label, and every number is 0.8 (so the judge's overall passes
 * the quality bar).
 */
export function answerFor(schema: Record<string, unknown>, text: string): unknown {
  const defs = (schema.$defs ?? {}) as Record<string, Record<string, unknown>>;
  const deref = (node: Record<string, unknown>): Record<string, unknown> =>
    typeof node.$ref === "string" ? deref(defs[node.$ref.replace("#/$defs/", "")] ?? {}) : node;
  const walk = (node: Record<string, unknown>, path: string[]): unknown => {
    if (typeof node.$ref === "string") return walk(deref(node), path);
    if (Array.isArray(node.enum)) return node.enum[0];
    if (Array.isArray(node.anyOf)) return walk(node.anyOf[0] as Record<string, unknown>, path);
    switch (node.type) {
      case "object":
        return Object.fromEntries(
          Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>).map(([k, v]) => [
            k,
            walk(v, [...path, k]),
          ]),
        );
      case "array": {
        const items = deref(node.items as Record<string, unknown>);
        const isLensList = path.at(-1) === "lenses";
        const idSchema = (items.properties as Record<string, Record<string, unknown>> | undefined)?.id;
        const enumValues =
          isLensList && idSchema ? (deref(idSchema).enum as string[] | undefined) : undefined;
        if (enumValues) {
          return enumValues.slice(0, 3).map((id) => ({ id, match_score: 0.8, reason: text }));
        }
        const labels = attemptLabels(items, schema);
        if (labels)
          return labels.map((attempt, i) => ({ ...(walk(items, [...path, String(i)]) as object), attempt }));
        return [walk(items, [...path, "0"])];
      }
      case "number":
        return 0.8;
      case "integer":
        // 80% of the way up the allowed range (a 1-10 rubric score gives 8).
        return Math.round(Number(node.maximum ?? 10) * 0.8);
      case "string":
        return path.at(-1) === "lens_id" ? "pace-layering" : text;
      default:
        return null;
    }
  };
  return walk(schema, []);
}
