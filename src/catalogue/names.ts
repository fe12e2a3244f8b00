/**
 * Normalises a lens name for comparison: lower case, curly apostrophes straightened, a leading
 * "the" dropped, and runs of punctuation or spaces collapsed to one space.
 * "The Map Is Not the Territory" and "map-is-not-the territory" both become "map is not the territory".
 */
export function normaliseName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\u2019/g, "'")
    .replace(/^the\s+/, "")
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}
