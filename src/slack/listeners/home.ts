import type { App, BlockAction, ButtonAction, PlainTextInputAction, StaticSelectAction } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import type { HomeTab } from "../../app/home.js";
import type { LogSink } from "../../logger.js";
import { type Browse, HOME_ACTIONS } from "../blocks/home.js";

/** A browse state from a paging button's value, if it is a well-formed one. */
function browseFrom(raw: string | undefined): Browse | undefined {
  try {
    const v = JSON.parse(raw ?? "") as Partial<Browse> & { id?: unknown; query?: unknown };
    const page = typeof v.page === "number" && Number.isInteger(v.page) && v.page >= 0 ? v.page : 0;
    if ((v.kind === "mode" || v.kind === "frame") && typeof v.id === "string")
      return { kind: v.kind, id: v.id, page };
    if (v.kind === "search" && typeof v.query === "string")
      return { kind: "search", query: v.query.slice(0, 200), page };
  } catch {
    // not ours
  }
  return undefined;
}

/**
 * App Home: published when a person opens the tab, and again when they browse the library there
 * (a mode, a theme, a search, a page). Everything shown is the person's own or the catalogue's.
 */
export function registerHome(app: App, deps: { home: HomeTab; logger: LogSink }): void {
  const publish = async (client: WebClient, team: string | undefined, user: string, browse?: Browse) => {
    try {
      await deps.home.publish(client, team, user, browse);
    } catch (err) {
      deps.logger.error({ err, team, user }, "could not publish App Home");
    }
  };

  app.event("app_home_opened", async ({ event, body, client }) => {
    if (event.tab !== "home") return;
    await publish(client, body.team_id, event.user);
  });

  const teamOf = (body: BlockAction) => body.team?.id ?? body.user.team_id;

  app.action<BlockAction<StaticSelectAction>>(
    new RegExp(`^(${HOME_ACTIONS.mode}|${HOME_ACTIONS.frame})$`),
    async ({ ack, body, action, client }) => {
      await ack();
      const id = action.selected_option?.value;
      if (!id) return;
      const kind = action.action_id === HOME_ACTIONS.mode ? "mode" : "frame";
      await publish(client, teamOf(body), body.user.id, { kind, id, page: 0 });
    },
  );

  app.action<BlockAction<PlainTextInputAction>>(
    HOME_ACTIONS.search,
    async ({ ack, body, action, client }) => {
      await ack();
      const query = (action.value ?? "").trim().slice(0, 200);
      await publish(
        client,
        teamOf(body),
        body.user.id,
        query ? { kind: "search", query, page: 0 } : undefined,
      );
    },
  );

  app.action<BlockAction<ButtonAction>>(
    new RegExp(`^${HOME_ACTIONS.page}:`),
    async ({ ack, body, action, client }) => {
      await ack();
      const browse = browseFrom(action.value);
      if (browse) await publish(client, teamOf(body), body.user.id, browse);
    },
  );
}
