import type { App, InstallationQuery } from "@slack/bolt";
import type { LogSink } from "../../logger.js";

/** Which installation an event speaks for: a workspace, or an organisation for an org-wide install. */
export interface TeamRef {
  teamId?: string;
  enterpriseId?: string;
  isEnterpriseInstall: boolean;
}

/** The installation store query for a team (Bolt's shape). */
export function installationQuery(team: TeamRef): InstallationQuery<boolean> {
  return team.isEnterpriseInstall && team.enterpriseId
    ? { isEnterpriseInstall: true, enterpriseId: team.enterpriseId, teamId: undefined }
    : { isEnterpriseInstall: false, teamId: team.teamId ?? "", enterpriseId: team.enterpriseId };
}

interface EventEnvelope {
  team_id?: string;
  enterprise_id?: string;
  authorizations?: { is_enterprise_install?: boolean }[];
}

function teamOf(body: EventEnvelope): TeamRef {
  return {
    ...(body.team_id && { teamId: body.team_id }),
    ...(body.enterprise_id && { enterpriseId: body.enterprise_id }),
    isEnterpriseInstall: body.authorizations?.[0]?.is_enterprise_install ?? false,
  };
}

/**
 * Forgets a workspace when lensbot is uninstalled there (`app_uninstalled`) or its bot token is
 * revoked (`tokens_revoked` naming a bot): `forget` deletes the installation and every record of
 * the team. Revoked user tokens alone change nothing (lensbot asks for none).
 */
export function registerUninstall(
  app: App,
  deps: { forget: (team: TeamRef) => Promise<void>; logger: LogSink },
): void {
  const forget = async (body: EventEnvelope, why: string) => {
    const team = teamOf(body);
    await deps.forget(team);
    deps.logger.info({ team: team.teamId, enterprise: team.enterpriseId, why }, "forgot a workspace");
  };
  app.event("app_uninstalled", async ({ body }) => forget(body as EventEnvelope, "app_uninstalled"));
  app.event("tokens_revoked", async ({ event, body }) => {
    if ((event.tokens.bot ?? []).length > 0) await forget(body as EventEnvelope, "tokens_revoked");
  });
}
