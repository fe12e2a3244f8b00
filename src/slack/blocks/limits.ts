/**
 * Slack's Block Kit size limits, as named constants, and a checker that lists every violation in
 * a message. Figures are from the Block Kit reference (docs.slack.dev/reference/block-kit) and the
 * `@slack/types` doc comments; the cumulative text budget is our own, explained below.
 * Lengths are JavaScript string lengths (UTF-16 code units), which never under-count what Slack counts.
 */

/** Blocks per message (chat.postMessage / chat.update). */
export const MAX_BLOCKS_PER_MESSAGE = 50;
/** `text` of a section block. */
export const MAX_SECTION_TEXT = 3000;
/** Fields in a section block, and the length of each. */
export const MAX_SECTION_FIELDS = 10;
export const MAX_SECTION_FIELD_TEXT = 2000;
/** `text` of a header block (plain_text only). */
export const MAX_HEADER_TEXT = 150;
/** Elements in a context block. */
export const MAX_CONTEXT_ELEMENTS = 10;
/** Any text object not covered by a tighter limit (context elements included). */
export const MAX_TEXT_OBJECT = 3000;
/** Elements in an actions block. */
export const MAX_ACTIONS_ELEMENTS = 25;
/** Elements of a `context_actions` block (feedback buttons, icon buttons). */
export const MAX_CONTEXT_ACTIONS_ELEMENTS = 5;
/** Button label (plain_text), button `value` and button `url`. */
export const MAX_BUTTON_TEXT = 75;
export const MAX_BUTTON_VALUE = 2000;
export const MAX_BUTTON_URL = 3000;
/** `action_id` of an interactive element and `block_id` of a block. */
export const MAX_ACTION_ID = 255;
export const MAX_BLOCK_ID = 255;
/** `text` of a `markdown` block. */
export const MAX_MARKDOWN_BLOCK_TEXT = 12_000;
/**
 * Top-level fallback `text`. Slack accepts far more (it truncates at 40,000), but the fallback only
 * feeds notifications and screen readers, so lensbot keeps it short.
 */
export const MAX_FALLBACK_TEXT = 4000;
/**
 * Sum of all text in one message's blocks. Slack rejects messages whose blocks are too long in
 * total with `msg_blocks_too_long`; the limit is undocumented and was measured at about 12,000-13,000
 * characters including some overhead per block (slackapi/bolt-js#2509 and #2867). lensbot stays
 * under this smaller budget and splits content over several messages instead.
 */
export const MAX_MESSAGE_TEXT = 10_000;
/**
 * The `table` block (docs.slack.dev/reference/block-kit/blocks/table-block): at most 100 rows of at
 * most 20 cells, cells of type `raw_text` (text at least 1 character), `rich_text` or `raw_number`,
 * at most 20 `column_settings` (`align` left, center or right; `is_wrapped` a boolean). In messages
 * a table goes in an attachment's `blocks`, not in the message's own, and a message holds one
 * table: a second one is refused with `invalid_attachments` (as apps that post tables report it).
 */
export const MAX_TABLE_ROWS = 100;
export const MAX_TABLE_CELLS = 20;
export const MAX_TABLE_COLUMN_SETTINGS = 20;
/**
 * lensbot's own cap on a table cell's text: Slack documents none for the `table` block, so cells
 * are held to a section field's 2,000 characters.
 */
export const MAX_TABLE_CELL_TEXT = 2000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Total length of every text object's `text` in `blocks`, walking nested elements. This is what
 * lensbot counts against {@link MAX_MESSAGE_TEXT}.
 */
export function blocksTextLength(blocks: readonly unknown[]): number {
  let total = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) walk(item);
    } else if (isObj(v)) {
      for (const [key, value] of Object.entries(v)) {
        if (key === "text" && typeof value === "string") total += value.length;
        else walk(value);
      }
    }
  };
  walk(blocks);
  return total;
}

/**
 * Every Block Kit limit the message breaks, one readable line each (empty when it is valid).
 * Checks: block count, cumulative text, header/section/context/actions/context_actions/markdown shapes and
 * lengths, buttons (label, value, url), text object types, `block_id` and `action_id` lengths and
 * uniqueness within the message, and that a message with blocks has a non-empty fallback `text`
 * (Slack uses it for notifications and accessibility and warns when it is missing).
 */
export function checkBlockKitLimits(
  message: { text?: string; blocks?: unknown[]; attachments?: unknown[] },
  limits: { maxBlocks: number; textBudget: number } = {
    maxBlocks: MAX_BLOCKS_PER_MESSAGE,
    textBudget: MAX_MESSAGE_TEXT,
  },
): string[] {
  const problems: string[] = [];
  const { text, blocks } = message;

  if (text !== undefined && typeof text !== "string") problems.push("text: must be a string");
  if (typeof text === "string" && text.length > MAX_FALLBACK_TEXT) {
    problems.push(`text: fallback text is ${text.length} chars; max ${MAX_FALLBACK_TEXT}`);
  }
  const tables: unknown[] = [];
  if (message.attachments !== undefined) {
    if (!Array.isArray(message.attachments)) problems.push("attachments: must be an array");
    else
      message.attachments.forEach((a, i) => {
        const inner = isObj(a) ? a.blocks : undefined;
        if (!Array.isArray(inner)) {
          problems.push(`attachments[${i}]: lensbot only sends attachments with blocks`);
          return;
        }
        inner.forEach((b, j) => {
          if (isObj(b) && b.type === "table") tables.push(b);
          else problems.push(`attachments[${i}].blocks[${j}]: lensbot only sends tables in attachments`);
        });
      });
  }
  if (tables.length > 1)
    problems.push(`attachments: ${tables.length} tables; one per message (invalid_attachments)`);
  tables.forEach((t, i) => {
    checkTable(`table ${i + 1}`, t as Obj, problems);
  });
  if (blocks === undefined) {
    if (typeof text !== "string" || text.trim() === "") problems.push("message: has neither text nor blocks");
    return problems;
  }
  if (!Array.isArray(blocks)) {
    problems.push("blocks: must be an array");
    return problems;
  }
  if (blocks.length > 0 && (typeof text !== "string" || text.trim() === "")) {
    problems.push("text: missing fallback text (required alongside blocks for notifications)");
  }
  if (blocks.length === 0 && (typeof text !== "string" || text.trim() === "")) {
    problems.push("message: has neither text nor blocks");
  }
  if (blocks.length > limits.maxBlocks) {
    problems.push(`blocks: ${blocks.length} blocks; max ${limits.maxBlocks}`);
  }
  const totalText = blocksTextLength(blocks) + blocksTextLength(tables);
  if (totalText > limits.textBudget) {
    problems.push(
      `blocks: ${totalText} chars of text in total; budget ${limits.textBudget} (msg_blocks_too_long)`,
    );
  }

  const blockIds = new Set<string>();
  const actionIds = new Set<string>();

  /** Checks a text object; `max` is its limit, `plainOnly` when only plain_text is allowed. */
  const textObject = (where: string, v: unknown, max: number, plainOnly = false): void => {
    if (!isObj(v)) {
      problems.push(`${where}: missing text object`);
      return;
    }
    if (v.type !== "plain_text" && v.type !== "mrkdwn") {
      problems.push(`${where}: text type must be plain_text or mrkdwn, got ${String(v.type)}`);
    } else if (plainOnly && v.type !== "plain_text") {
      problems.push(`${where}: text type must be plain_text`);
    }
    if (typeof v.text !== "string" || v.text.length === 0) {
      problems.push(`${where}: text is empty`);
    } else if (v.text.length > max) {
      problems.push(`${where}: text is ${v.text.length} chars; max ${max}`);
    }
  };

  const element = (where: string, el: unknown): void => {
    if (!isObj(el) || typeof el.type !== "string") {
      problems.push(`${where}: element must be an object with a type`);
      return;
    }
    if (el.action_id !== undefined) {
      if (typeof el.action_id !== "string" || el.action_id.length === 0) {
        problems.push(`${where}: action_id must be a non-empty string`);
      } else {
        if (el.action_id.length > MAX_ACTION_ID) {
          problems.push(`${where}: action_id is ${el.action_id.length} chars; max ${MAX_ACTION_ID}`);
        }
        if (actionIds.has(el.action_id)) problems.push(`${where}: duplicate action_id ${el.action_id}`);
        actionIds.add(el.action_id);
      }
    }
    if (el.type === "button") {
      textObject(`${where} (button)`, el.text, MAX_BUTTON_TEXT, true);
      if (el.value !== undefined && (typeof el.value !== "string" || el.value.length > MAX_BUTTON_VALUE)) {
        problems.push(`${where} (button): value must be a string of at most ${MAX_BUTTON_VALUE} chars`);
      }
      if (el.url !== undefined && (typeof el.url !== "string" || el.url.length > MAX_BUTTON_URL)) {
        problems.push(`${where} (button): url must be a string of at most ${MAX_BUTTON_URL} chars`);
      }
    }
  };

  blocks.forEach((block, i) => {
    const at = `blocks[${i}]`;
    if (!isObj(block) || typeof block.type !== "string") {
      problems.push(`${at}: block must be an object with a type`);
      return;
    }
    const where = `${at} (${block.type})`;
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== "string" || block.block_id.length === 0) {
        problems.push(`${where}: block_id must be a non-empty string`);
      } else {
        if (block.block_id.length > MAX_BLOCK_ID) {
          problems.push(`${where}: block_id is ${block.block_id.length} chars; max ${MAX_BLOCK_ID}`);
        }
        if (blockIds.has(block.block_id)) problems.push(`${where}: duplicate block_id ${block.block_id}`);
        blockIds.add(block.block_id);
      }
    }
    switch (block.type) {
      case "header":
        textObject(where, block.text, MAX_HEADER_TEXT, true);
        break;
      case "section": {
        const fields = block.fields;
        if (block.text === undefined && fields === undefined) {
          problems.push(`${where}: needs text or fields`);
        }
        if (block.text !== undefined) textObject(where, block.text, MAX_SECTION_TEXT);
        if (fields !== undefined) {
          if (!Array.isArray(fields) || fields.length === 0) {
            problems.push(`${where}: fields must be a non-empty array`);
          } else {
            if (fields.length > MAX_SECTION_FIELDS) {
              problems.push(`${where}: ${fields.length} fields; max ${MAX_SECTION_FIELDS}`);
            }
            fields.forEach((f, j) => {
              textObject(`${where} fields[${j}]`, f, MAX_SECTION_FIELD_TEXT);
            });
          }
        }
        if (block.accessory !== undefined) element(`${where} accessory`, block.accessory);
        break;
      }
      case "context": {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0) {
          problems.push(`${where}: elements must be a non-empty array`);
          break;
        }
        if (els.length > MAX_CONTEXT_ELEMENTS) {
          problems.push(`${where}: ${els.length} elements; max ${MAX_CONTEXT_ELEMENTS}`);
        }
        els.forEach((el, j) => {
          if (isObj(el) && el.type === "image") return;
          textObject(`${where} elements[${j}]`, el, MAX_TEXT_OBJECT);
        });
        break;
      }
      case "actions": {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0) {
          problems.push(`${where}: elements must be a non-empty array`);
          break;
        }
        if (els.length > MAX_ACTIONS_ELEMENTS) {
          problems.push(`${where}: ${els.length} elements; max ${MAX_ACTIONS_ELEMENTS}`);
        }
        els.forEach((el, j) => {
          element(`${where} elements[${j}]`, el);
        });
        break;
      }
      case "context_actions": {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0 || els.length > MAX_CONTEXT_ACTIONS_ELEMENTS) {
          problems.push(
            `${where}: elements must be 1-${MAX_CONTEXT_ACTIONS_ELEMENTS} feedback or icon buttons`,
          );
          break;
        }
        els.forEach((el, j) => {
          element(`${where} elements[${j}]`, el);
          if (isObj(el) && el.type === "feedback_buttons") {
            for (const side of ["positive_button", "negative_button"] as const) {
              const b = el[side];
              if (!isObj(b)) {
                problems.push(`${where} elements[${j}]: missing ${side}`);
                continue;
              }
              textObject(`${where} elements[${j}].${side}`, b.text, MAX_BUTTON_TEXT, true);
              if (typeof b.value !== "string" || b.value.length > MAX_BUTTON_VALUE) {
                problems.push(
                  `${where} elements[${j}].${side}: value must be a string of at most ${MAX_BUTTON_VALUE} chars`,
                );
              }
            }
          }
        });
        break;
      }
      case "table":
        problems.push(`${where}: a table goes in an attachment's blocks, not the message's`);
        break;
      case "markdown":
        if (typeof block.text !== "string" || block.text.length === 0)
          problems.push(`${where}: text is empty`);
        else if (block.text.length > MAX_MARKDOWN_BLOCK_TEXT) {
          problems.push(`${where}: text is ${block.text.length} chars; max ${MAX_MARKDOWN_BLOCK_TEXT}`);
        }
        break;
      default:
        break;
    }
  });
  return problems;
}

/** The `table` block's own limits (see {@link MAX_TABLE_ROWS}), each broken one as a line in `problems`. */
function checkTable(where: string, table: Obj, problems: string[]): void {
  const rows = table.rows;
  if (!Array.isArray(rows) || rows.length === 0) {
    problems.push(`${where}: rows must be a non-empty array`);
    return;
  }
  if (rows.length > MAX_TABLE_ROWS) problems.push(`${where}: ${rows.length} rows; max ${MAX_TABLE_ROWS}`);
  const width = Array.isArray(rows[0]) ? rows[0].length : 0;
  rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length === 0) {
      problems.push(`${where} row ${r}: must be a non-empty array of cells`);
      return;
    }
    if (row.length > MAX_TABLE_CELLS)
      problems.push(`${where} row ${r}: ${row.length} cells; max ${MAX_TABLE_CELLS}`);
    if (row.length !== width)
      problems.push(`${where} row ${r}: ${row.length} cells; the first row has ${width}`);
    row.forEach((cell, c) => {
      const at = `${where} row ${r} cell ${c}`;
      if (!isObj(cell)) problems.push(`${at}: must be an object`);
      else if (cell.type === "raw_text") {
        if (typeof cell.text !== "string" || cell.text.length === 0)
          problems.push(`${at}: raw_text is empty`);
        else if (cell.text.length > MAX_TABLE_CELL_TEXT)
          problems.push(`${at}: ${cell.text.length} chars; lensbot's max ${MAX_TABLE_CELL_TEXT}`);
      } else if (cell.type !== "rich_text" && cell.type !== "raw_number")
        problems.push(`${at}: type must be raw_text, rich_text or raw_number, got ${String(cell.type)}`);
    });
  });
  const settings = table.column_settings;
  if (settings !== undefined) {
    if (!Array.isArray(settings) || settings.length > MAX_TABLE_COLUMN_SETTINGS)
      problems.push(`${where}: column_settings must be an array of at most ${MAX_TABLE_COLUMN_SETTINGS}`);
    else
      settings.forEach((cs, i) => {
        if (!isObj(cs)) return;
        if (cs.align !== undefined && !["left", "center", "right"].includes(String(cs.align)))
          problems.push(`${where} column_settings[${i}]: align must be left, center or right`);
        if (cs.is_wrapped !== undefined && typeof cs.is_wrapped !== "boolean")
          problems.push(`${where} column_settings[${i}]: is_wrapped must be a boolean`);
      });
  }
}

/** Blocks in one view (a Home tab or a modal). */
export const MAX_VIEW_BLOCKS = 100;

/**
 * Every limit a view (Home tab, modal) breaks: the same per-block checks as messages, with
 * Slack's 100 blocks per view and no cumulative text budget (that one is for messages).
 */
export function checkViewLimits(view: { blocks?: unknown[] }): string[] {
  return checkBlockKitLimits(
    { text: "view", ...(view.blocks && { blocks: view.blocks }) },
    { maxBlocks: MAX_VIEW_BLOCKS, textBudget: Number.POSITIVE_INFINITY },
  );
}
