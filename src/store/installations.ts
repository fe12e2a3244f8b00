import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type {
  Installation,
  InstallationQuery,
  InstallationStore,
  InstallURLOptions,
  StateStore,
} from "@slack/bolt";
import { InvalidStateError } from "@slack/oauth";
import type { Cluster, Redis } from "ioredis";
import { ErrorCode, LensbotError } from "../errors.js";
import { keys } from "./keys.js";

/**
 * Seals and opens short secrets with AES-256-GCM (NIST SP 800-38D): a fresh 12-byte IV per value,
 * the 16-byte tag checked on open, and the Redis key as additional authenticated data, so a
 * sealed value copied under another team's key does not open. Sealed form:
 * `v1.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
export class TokenCipher {
  readonly #key: Buffer;

  /** @throws Error unless `key` is 32 bytes. */
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("the token key must be 32 bytes");
    this.#key = key;
  }

  seal(plain: string, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(boundTo));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return ["v1", iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  /** @throws Error when the value was not sealed with this key for `boundTo`, or was altered. */
  open(sealed: string, boundTo: string): string {
    const [version, iv, tag, body] = sealed.split(".");
    if (version !== "v1" || !iv || !tag || body === undefined) throw new Error("not a sealed value");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(boundTo));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  }
}

/** The id an installation is kept under: the organisation for an org-wide install, else the team. */
function installationId(query: { teamId?: string; enterpriseId?: string; isEnterpriseInstall?: boolean }) {
  const id = query.isEnterpriseInstall ? query.enterpriseId : query.teamId;
  if (!id)
    throw new Error("an installation query needs a team id (or an enterprise id for an org-wide install)");
  return query.isEnterpriseInstall ? `E:${id}` : `T:${id}`;
}

/**
 * Bolt's `InstallationStore` in Redis: one key per workspace (or per organisation, for an
 * org-wide install) holding the whole installation as JSON sealed with {@link TokenCipher}, so
 * no token is readable from Redis (or its backups) without `LENSBOT_TOKEN_KEY`. Installations do
 * not expire; uninstalling deletes them.
 */
export class RedisInstallationStore implements InstallationStore {
  readonly #redis: Redis | Cluster;
  readonly #k: ReturnType<typeof keys>;
  readonly #cipher: TokenCipher;

  constructor(redis: Redis | Cluster, options: { prefix: string; key: Buffer }) {
    this.#redis = redis;
    this.#k = keys(options.prefix);
    this.#cipher = new TokenCipher(options.key);
  }

  async storeInstallation(installation: Installation): Promise<void> {
    const key = this.#k.installation(
      installationId({
        ...(installation.team?.id && { teamId: installation.team.id }),
        ...(installation.enterprise?.id && { enterpriseId: installation.enterprise.id }),
        isEnterpriseInstall: installation.isEnterpriseInstall ?? false,
      }),
    );
    await this.#redis.set(key, this.#cipher.seal(JSON.stringify(installation), key));
  }

  /**
   * @throws LensbotError `slack_not_installed` when there is none (Bolt's authorize then refuses
   *   the request); what Redis or the cipher throws otherwise.
   */
  async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation<"v1" | "v2", boolean>> {
    const key = this.#k.installation(installationId(query));
    const sealed = await this.#redis.get(key);
    if (!sealed) {
      throw new LensbotError(ErrorCode.SlackNotInstalled, `no installation for ${installationId(query)}`);
    }
    return JSON.parse(this.#cipher.open(sealed, key)) as Installation<"v1" | "v2", boolean>;
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    await this.#redis.del(this.#k.installation(installationId(query)));
  }
}

/**
 * Bolt's OAuth `StateStore` in Redis: each state is 32 random bytes kept for `ttlSeconds` with
 * the install options, and can be used once (GETDEL), so a state that leaked from a finished
 * install cannot start another. Bolt also checks it against the installer's browser cookie.
 */
export class RedisStateStore implements StateStore {
  readonly #redis: Redis | Cluster;
  readonly #k: ReturnType<typeof keys>;
  readonly #ttlSeconds: number;

  /** @param ttlSeconds how long an install may take from /slack/install to the redirect (default 600). */
  constructor(redis: Redis | Cluster, options: { prefix: string; ttlSeconds?: number }) {
    this.#redis = redis;
    this.#k = keys(options.prefix);
    this.#ttlSeconds = options.ttlSeconds ?? 600;
  }

  async generateStateParam(installOptions: InstallURLOptions, _now?: Date): Promise<string> {
    const state = randomBytes(32).toString("base64url");
    await this.#redis.set(this.#k.oauthState(state), JSON.stringify(installOptions), "EX", this.#ttlSeconds);
    return state;
  }

  /** @throws InvalidStateError for a state that is unknown, expired or already used. */
  async verifyStateParam(_now: Date, state: string): Promise<InstallURLOptions> {
    const saved = /^[\w-]{43}$/.test(state) ? await this.#redis.getdel(this.#k.oauthState(state)) : null;
    if (!saved) throw new InvalidStateError("The install link has expired or was already used.");
    return JSON.parse(saved) as InstallURLOptions;
  }
}
