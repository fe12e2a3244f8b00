import { z } from "zod";

/** Lens ids are lower-case slugs such as `pace-layering`. */
export const LensId = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "must be a lower-case slug like pace-layering");

export const ModeId = z.string().regex(/^[a-z][a-z0-9-]*$/, "must be a lower-case slug");

const line = z.string().trim().min(1);

/** One lens file in `lenses/<id>.yaml`. */
export const LensSchema = z.strictObject({
  id: LensId,
  name: line.max(80),
  aliases: z.array(line.max(120)).default([]),
  summary: line.max(300),
  definition: line.min(120, "should be 3-5 sentences").max(1500),
  origin: z.strictObject({
    who: line,
    work: line,
    year: z.number().int().min(-500).max(2100),
  }),
  questions: z.array(line).min(3).max(6),
  signals: z.array(line.max(60)).min(3),
  pitfalls: z.array(line).min(1).max(6),
  related: z.array(LensId).default([]),
  contrasts: z.array(z.strictObject({ id: LensId, tension: line })).default([]),
  modes: z.array(ModeId).min(1),
});
export type Lens = z.infer<typeof LensSchema>;

/** One thinking mode in `lenses/modes.yaml`. */
export const ModeSchema = z.strictObject({
  id: ModeId,
  name: line,
  emoji: line,
  description: line,
  use_when: z.array(line).min(1),
  lenses: z.array(LensId).min(2),
});
export type Mode = z.infer<typeof ModeSchema>;

export const ModesFileSchema = z.array(ModeSchema).min(6, "at least 6 thinking modes");
