import type { AuthorizeResult, InstallationQuery } from "@slack/oauth";
import type { WebClient } from "@slack/web-api";
import { ErrorCode, LensbotError } from "../errors.js";
import { UserNames } from "./thread.js";

/** What a worker needs to act in one workspace. */
export interface Workspace {
  /** A Web API client carrying that workspace's bot token. */
  client: WebClient;
  /** The bot's own `bot_id` there, so its earlier cards are summarised in transcripts. */
  botId?: string;
  /** Display names of that workspace's people, cached. */
  names: UserNames;
}

/** The workspaces a worker can act in, by Slack team id (undefined: the team Slack did not say). */
export interface Workspaces {
  /**
   * @throws LensbotError `slack_not_installed` (not retryable) when lensbot is not installed in
   *   that team (any more); `store_unavailable` (retryable) when the installation could not be read.
   */
  get(teamId: string | undefined): Promise<Workspace>;
}

/**
 * One workspace with a fixed bot token (`SLACK_BOT_TOKEN`), whatever the team id says: the
 * default setup. The bot's id comes from `auth.test`, asked once.
 */
export class SingleWorkspace implements Workspaces {
  readonly #client: WebClient;
  readonly #names: UserNames;
  #botId: Promise<string | undefined> | undefined;

  /** @param botId the bot's id when known (else `auth.test` is asked on first use). */
  constructor(client: WebClient, botId?: string) {
    this.#client = client;
    this.#names = new UserNames(client);
    if (botId) this.#botId = Promise.resolve(botId);
  }

  async get(): Promise<Workspace> {
    this.#botId ??= this.#client.auth.test().then(
      (r) => r.bot_id,
      () => {
        this.#botId = undefined;
        return undefined;
      },
    );
    const botId = await this.#botId;
    return { client: this.#client, names: this.#names, ...(botId && { botId }) };
  }
}

/**
 * Workspaces that installed lensbot through OAuth: each team's bot token comes from the
 * installation store through `authorize` (an `InstallProvider`'s, which also refreshes rotating
 * tokens), asked at every use so an uninstall takes effect at once. A team's client and name
 * cache are kept while its token stays the same.
 */
export class InstalledWorkspaces implements Workspaces {
  readonly #authorize: (query: InstallationQuery<boolean>) => Promise<AuthorizeResult>;
  readonly #clientFor: (token: string) => WebClient;
  readonly #byTeam = new Map<string, { token: string; workspace: Workspace }>();

  /** @param clientFor builds a Web API client for a bot token (the deployment's client options). */
  constructor(
    authorize: (query: InstallationQuery<boolean>) => Promise<AuthorizeResult>,
    clientFor: (token: string) => WebClient,
  ) {
    this.#authorize = authorize;
    this.#clientFor = clientFor;
  }

  async get(teamId: string | undefined): Promise<Workspace> {
    const notInstalled = (cause?: unknown) =>
      new LensbotError(
        ErrorCode.SlackNotInstalled,
        "lensbot is not installed in this workspace.",
        cause === undefined ? {} : { cause },
      );
    if (!teamId) throw notInstalled();
    let auth: AuthorizeResult;
    try {
      auth = await this.#authorize({ teamId, isEnterpriseInstall: false, enterpriseId: undefined });
    } catch (err) {
      // Bolt's authorize wraps what the installation store threw as `original`.
      const cause = (err as { original?: unknown }).original ?? err;
      if (cause instanceof LensbotError && cause.code === ErrorCode.SlackNotInstalled) {
        this.#byTeam.delete(teamId);
        throw notInstalled(err);
      }
      // Redis away for a moment is not an uninstall: the job is retried.
      throw new LensbotError(ErrorCode.StoreUnavailable, "The installation could not be read just now.", {
        cause: err,
      });
    }
    if (!auth.botToken) throw notInstalled();
    const kept = this.#byTeam.get(teamId);
    if (kept?.token === auth.botToken) return kept.workspace;
    const client = this.#clientFor(auth.botToken);
    const workspace = { client, names: new UserNames(client), ...(auth.botId && { botId: auth.botId }) };
    this.#byTeam.set(teamId, { token: auth.botToken, workspace });
    return workspace;
  }
}
