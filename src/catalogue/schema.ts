import { z } from "zod";

/** Lens ids are lower-case slugs such as `pace-layering`. */
export const LensId = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "must be a lower-case slug like pace-layering");

export const ModeId = z.string().regex(/^[a-z][a-z0-9-]*$/, "must be a lower-case slug");
export const FrameId = ModeId;

const line = z.string().trim().min(1);

/** Most thinking modes a lens may belong to: a lens in every mode would be a favourite, not a fit. */
export const MAX_MODES_PER_LENS = 3;

/**
 * One lens file in `lenses/<id>.yaml`. What makes a lens complete is part of the shape: 3-5
 * examples, at least 3 related lenses and 1 contrast, 1-3 modes and 1-3 frames. Finer checks on
 * wording and length live in `catalogue/lint.ts` (`npm run lint:lenses`).
 */
export const LensSchema = z.strictObject({
  id: LensId,
  name: line.max(80),
  aliases: z.array(line.max(120)).default([]),
  summary: line.max(300),
  definition: line.min(120, "should be 3-5 sentences").max(1500),
  origin: z.strictObject({
    who: line,
    /** The work without its year (the year has its own field). */
    work: line,
    year: z.number().int().min(-500).max(2100),
  }),
  /** Short situations where the lens applies, told the way people describe problems (evidence for ranking). */
  examples: z.array(line.max(320)).min(3).max(5),
  questions: z.array(line).min(3).max(6),
  signals: z.array(line.max(60)).min(3),
  pitfalls: z.array(line).min(1).max(6),
  related: z.array(LensId).min(3),
  contrasts: z.array(z.strictObject({ id: LensId, tension: line })).min(1),
  modes: z.array(ModeId).min(1).max(MAX_MODES_PER_LENS),
  frames: z.array(FrameId).min(1).max(3),
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

export const ModesFileSchema = z.array(ModeSchema).min(10, "at least 10 thinking modes");

/** One thematic frame in `lenses/frames.yaml`: a cross-cutting theme for browsing and gap-finding. */
export const FrameSchema = z.strictObject({
  id: FrameId,
  name: line,
  description: line,
});
export type Frame = z.infer<typeof FrameSchema>;

export const FramesFileSchema = z.array(FrameSchema).min(6, "at least 6 frames");
