import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { JSON_SCHEMA, load as parseYaml } from "js-yaml";
import type { z } from "zod";
import { CatalogueError } from "../errors.js";
import { Catalogue } from "./catalogue.js";
import { normaliseName } from "./names.js";
import { type Frame, FramesFileSchema, type Lens, LensSchema, type Mode, ModesFileSchema } from "./schema.js";

const MODES_FILE = "modes.yaml";
const FRAMES_FILE = "frames.yaml";

function describeIssues(file: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join(".") : "(root)";
    return `${file}: ${field}: ${issue.message}`;
  });
}

function readYaml(dir: string, file: string, problems: string[]): unknown {
  try {
    // The JSON schema: lens files hold only strings, numbers and lists, and it parses faster.
    return parseYaml(readFileSync(join(dir, file), "utf8"), { schema: JSON_SCHEMA });
  } catch (err) {
    problems.push(`${file}: (file): ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    return undefined;
  }
}

/**
 * Loads and validates the lens catalogue from a directory of YAML files: one `<id>.yaml` per lens,
 * `modes.yaml` for the thinking modes and `frames.yaml` for the thematic frames.
 *
 * Checks each file against the zod schemas, then the catalogue as a whole: file name matches id,
 * ids, names and aliases are unique (ignoring case and punctuation), every `related`, `contrasts`,
 * mode and frame reference exists, and each mode's core lenses list that mode.
 *
 * @throws CatalogueError listing every problem as `file: field: message`.
 */
export function loadCatalogue(dir: string): Catalogue {
  const problems: string[] = [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort();

  const lenses: Lens[] = [];
  const fileOf = new Map<string, string>();
  for (const file of files) {
    if (file === MODES_FILE || file === FRAMES_FILE) continue;
    const raw = readYaml(dir, file, problems);
    if (raw === undefined) continue;
    const parsed = LensSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...describeIssues(file, parsed.error));
      continue;
    }
    const lens = parsed.data;
    const stem = basename(file).replace(/\.ya?ml$/, "");
    if (stem !== lens.id) problems.push(`${file}: id: "${lens.id}" does not match the file name`);
    lenses.push(lens);
    fileOf.set(lens.id, file);
  }

  /** A list file (modes or frames) checked against its schema; empty, with the problems noted, when it fails. */
  const readList = <T>(file: string, schema: z.ZodType<T[]>): T[] => {
    if (!files.includes(file)) {
      problems.push(`${file}: (file): missing`);
      return [];
    }
    const parsed = schema.safeParse(readYaml(dir, file, problems));
    if (parsed.success) return parsed.data;
    problems.push(...describeIssues(file, parsed.error));
    return [];
  };
  const modes: Mode[] = readList(MODES_FILE, ModesFileSchema);
  const frames: Frame[] = readList(FRAMES_FILE, FramesFileSchema);

  problems.push(...checkIntegrity(lenses, modes, frames, fileOf));
  if (problems.length > 0) throw new CatalogueError(problems);
  return new Catalogue(lenses, modes, frames);
}

function checkIntegrity(
  lenses: Lens[],
  modes: Mode[],
  frames: Frame[],
  fileOf: Map<string, string>,
): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const modeIds = new Set(modes.map((m) => m.id));
  const frameIds = new Set(frames.map((f) => f.id));
  const owner = new Map<string, string>(); // normalised name or alias → lens id

  for (const lens of lenses) {
    const file = fileOf.get(lens.id) ?? `${lens.id}.yaml`;
    if (ids.has(lens.id)) problems.push(`${file}: id: duplicate id "${lens.id}"`);
    ids.add(lens.id);
    for (const [field, value] of [["name", lens.name], ...lens.aliases.map((a) => ["aliases", a])] as const) {
      const key = normaliseName(value);
      const other = owner.get(key);
      if (other !== undefined && other !== lens.id) {
        problems.push(`${file}: ${field}: "${value}" is already used by lens "${other}"`);
      }
      owner.set(key, lens.id);
    }
  }

  for (const lens of lenses) {
    const file = fileOf.get(lens.id) ?? `${lens.id}.yaml`;
    lens.related.forEach((id, i) => {
      if (!ids.has(id)) problems.push(`${file}: related.${i}: unknown lens id "${id}"`);
      if (id === lens.id) problems.push(`${file}: related.${i}: a lens cannot relate to itself`);
    });
    lens.contrasts.forEach((c, i) => {
      if (!ids.has(c.id)) problems.push(`${file}: contrasts.${i}.id: unknown lens id "${c.id}"`);
      if (c.id === lens.id) problems.push(`${file}: contrasts.${i}.id: a lens cannot contrast with itself`);
    });
    lens.modes.forEach((m, i) => {
      if (!modeIds.has(m)) problems.push(`${file}: modes.${i}: unknown mode "${m}"`);
    });
    lens.frames.forEach((f, i) => {
      if (!frameIds.has(f)) problems.push(`${file}: frames.${i}: unknown frame "${f}"`);
    });
  }

  const byId = new Map(lenses.map((l) => [l.id, l]));
  const seenModes = new Set<string>();
  for (const mode of modes) {
    if (seenModes.has(mode.id)) problems.push(`${MODES_FILE}: ${mode.id}: duplicate mode id`);
    seenModes.add(mode.id);
    mode.lenses.forEach((id, i) => {
      const lens = byId.get(id);
      if (!lens) problems.push(`${MODES_FILE}: ${mode.id}.lenses.${i}: unknown lens id "${id}"`);
      else if (!lens.modes.includes(mode.id)) {
        problems.push(
          `${fileOf.get(id)}: modes: lens is a core lens of mode "${mode.id}" but does not list it`,
        );
      }
    });
  }
  return problems;
}
