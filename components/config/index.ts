/**
 * Typed stack configuration. `loadStackConfig` is the only place the program reads Pulumi
 * config; components receive the typed sections. `parseStackConfig` is the pure core, so
 * every validation message is tested without Pulumi.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CostAssumptions, readCostAssumptions } from "./cost";
import { FormSenderConfig, readFormSenderConfig } from "./formSender";
import { readOrchestrationConfig, OrchestrationConfig } from "./orchestration";
import { readSyncConfig, SyncConfig } from "./sync";
import { ConfigError, ConfigReader, EMAIL, PROJECT, RawConfig } from "./validate";
import { readWeatherConfig, WeatherConfig, weatherAppPathProblem } from "./weather";

export * from "./validate";
export { WeatherConfig, WEATHER_DEFAULTS } from "./weather";
export { OrchestrationConfig, ORCHESTRATION_DEFAULTS } from "./orchestration";
export { CostAssumptions, COST_DEFAULTS } from "./cost";
export { FormSenderConfig, FORM_SENDER_DEFAULTS } from "./formSender";
export { SyncConfig, SYNC_DEFAULTS } from "./sync";

export const ENVIRONMENTS = ["stg", "prd"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/**
 * Keys whose values are secrets: the one list of them. Each is optional and declared in Pulumi.yaml as
 * `type: string, default: ""` WITHOUT `secret: true`, its description saying "secret: set with --secret": the CLI
 * (since 3.202) refuses a `secret: true` key whose plaintext default fills it (pulumi/pulumi#21865), and a
 * `secret: true` key without default would be required in every stack. The program enforces the secrecy instead:
 * `""` means unset (no secret value is written), and a value not set with `pulumi config set --secret` is refused.
 * Secret values are read as secret Outputs and never printed in validation messages.
 */
export const SECRET_KEYS = [
    "weatherApiKeys",
    "formSenderSupabaseUrl",
    "formSenderSupabaseServiceRoleKey",
    "alertSlackWebhookUrl",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** What a secret key's description in Pulumi.yaml starts with. */
export const SECRET_MARKER = "secret: set with --secret";

/** A Slack Incoming Webhook URL (https://api.slack.com/messaging/webhooks). */
const SLACK_WEBHOOK_URL = /^https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]+$/;

/** The API keys the weather app reads from its Secrets Manager JSON secret. */
export const WEATHER_API_KEY_NAMES = [
    "WXTECH_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "ANTHROPIC_API_KEY",
] as const;

export interface StackConfig {
    readonly stack: string;
    readonly environment: Environment;
    /** Receives every alarm (SNS e-mail subscription, confirmed by the recipient). */
    readonly alertEmail: string;
    readonly weather: WeatherConfig;
    readonly orchestration: OrchestrationConfig;
    readonly formSender: FormSenderConfig;
    readonly sync: SyncConfig;
    /** Usage assumptions for the cost report; no effect on resources. */
    readonly cost: CostAssumptions;
}

/**
 * Validates raw config values (unqualified keys) for `stack`; throws ConfigError listing every problem.
 * `secretKeys` lists the keys whose values were set with `pulumi config set --secret` (encrypted in the stack file).
 */
export function parseStackConfig(stack: string, raw: RawConfig, secretKeys: readonly string[] = []): StackConfig {
    const r = new ConfigReader(stack, raw);
    const environment = r.oneOf("environment", ENVIRONMENTS, {
        default: (ENVIRONMENTS as readonly string[]).includes(stack) ? (stack as Environment) : undefined,
    });
    const alertEmail = r.string("alertEmail", {
        pattern: EMAIL,
        expected: "an e-mail address for alarm notifications",
        example: "ops-alerts@example.com",
    });
    const weather = readWeatherConfig(r);
    const orchestration = readOrchestrationConfig(r, environment);
    const formSender = readFormSenderConfig(r);
    const sync = readSyncConfig(r, environment);
    const cost = readCostAssumptions(r);
    readSecrets(r, raw, secretKeys);
    r.checkUnknown();
    r.finish();
    return { stack, environment, alertEmail, weather, orchestration, formSender, sync, cost };
}

/** The secret JSON the weather task reads its API keys from, with a placeholder for each. */
const WEATHER_API_KEYS_EXAMPLE = `'{${WEATHER_API_KEY_NAMES.map((k) => `"${k}":"…"`).join(",")}}'`;

/** Which of the weather API keys a `weatherApiKeys` value lacks; undefined when it is not a JSON object of strings. */
function missingWeatherApiKeys(value: string): string[] | undefined {
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        return undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
    const entries = Object.entries(parsed);
    const known = (k: string) => (WEATHER_API_KEY_NAMES as readonly string[]).includes(k);
    if (!entries.every(([k, v]) => known(k) && typeof v === "string")) return undefined;
    return WEATHER_API_KEY_NAMES.filter((k) => !(k in parsed));
}

/** Whether a secret key has a value: `""`, its declared default, means unset. */
const secretGiven = (raw: RawConfig, key: SecretKey): boolean => raw[key] !== undefined && raw[key] !== "";

/** Secrecy and shape checks for secret values; messages never contain the value. */
function readSecrets(r: ConfigReader, raw: RawConfig, secretKeys: readonly string[]): void {
    for (const key of SECRET_KEYS) {
        r.declare(key);
        // Pulumi.yaml cannot declare these `secret: true` (see SECRET_KEYS), so the program refuses plain text.
        if (secretGiven(raw, key) && !secretKeys.includes(key)) {
            r.fail(
                key,
                "a value set with --secret (encrypted in the stack file, never plain text)",
                "[secret]",
                `${r.setCommand(key, "<value>", true)} (it replaces the plain-text value)`,
            );
        }
    }
    const apiKeys = raw["weatherApiKeys"];
    if (apiKeys !== undefined && apiKeys !== "") {
        // The task definition references every key (`<secret-arn>:<KEY>::`); ECS refuses to start a task whose
        // secret lacks one ("ResourceInitializationError: … did not contain json key <KEY>", see "Pass Secrets
        // Manager secrets through Amazon ECS environment variables" in the ECS developer guide).
        const missing = missingWeatherApiKeys(apiKeys);
        if (missing === undefined || missing.length > 0) {
            const lacking = missing === undefined ? "" : `; missing ${missing.join(", ")}`;
            r.fail(
                "weatherApiKeys",
                `a JSON object with a string value for each of ${WEATHER_API_KEY_NAMES.join(", ")} and no other ` +
                    `key (the weather task reads all four; ECS does not start it when one is missing)${lacking}`,
                "[secret]",
                r.setCommand("weatherApiKeys", WEATHER_API_KEYS_EXAMPLE, true),
            );
        }
    }
    const webhook = raw["alertSlackWebhookUrl"];
    if (webhook !== undefined && webhook !== "" && !SLACK_WEBHOOK_URL.test(webhook)) {
        r.fail(
            "alertSlackWebhookUrl",
            "a Slack Incoming Webhook URL (https://hooks.slack.com/services/T…/B…/…)",
            "[secret]",
            "copy the URL from the Slack app's Incoming Webhooks page, " +
                `then pulumi config set --secret alertSlackWebhookUrl <url> --stack ${r.stack}`,
        );
    }
}

/**
 * The secrets the form-sender functions cannot answer a call without, with the Secrets Manager secret each is written
 * to (components/formSender/jobDefinition.ts) and an example value for the fix. Pulumi.yaml defaults both to `""`
 * (not written): `pulumi up` then creates the secret without a value and the dispatcher answers 500 to every call
 * until someone puts one (functions/formSender/runtime.ts `supabaseFromSecrets`).
 */
export const FORM_SENDER_REQUIRED_SECRETS = [
    {
        key: "formSenderSupabaseUrl",
        secretName: (env: string) => `/fs-runner/${env}/supabase/url`,
        example: "https://<project-ref>.supabase.co",
    },
    {
        key: "formSenderSupabaseServiceRoleKey",
        secretName: (env: string) => `/fs-runner/${env}/supabase/key`,
        example: "<service-role-key>",
    },
] as const satisfies readonly { key: SecretKey; secretName: (env: string) => string; example: string }[];

/**
 * Whether the stack file (`config`, fully qualified keys as in Pulumi.<stack>.yaml, plain values only) sets `key`:
 * encrypted (`encryptedKeys`, whose values only the Pulumi CLI can read) or plain and not `""`.
 */
export function secretConfigured(config: RawConfig, encryptedKeys: readonly string[], key: SecretKey): boolean {
    const qualified = `${PROJECT}:${key}`;
    const plain = config[qualified];
    return plain !== undefined ? plain !== "" : encryptedKeys.includes(qualified);
}

/**
 * Warnings for the offline plan (which cannot read encrypted values, and runs in PR checks without them, so it does
 * not refuse): each of {@link FORM_SENDER_REQUIRED_SECRETS} the stack file leaves unset, naming the secret and the
 * command that sets it.
 */
export function unsetSecretWarnings(stack: string, config: RawConfig, encryptedKeys: readonly string[]): string[] {
    const env = config[`${PROJECT}:environment`] ?? stack;
    return FORM_SENDER_REQUIRED_SECRETS.filter((s) => !secretConfigured(config, encryptedKeys, s.key)).map(
        (s) =>
            `${PROJECT}:${s.key} is empty: pulumi up creates ${s.secretName(env)} without a value, and the ` +
            "form-sender API answers 500 to every call until it has one. Fix: " +
            `pulumi config set --secret ${s.key} ${s.example} --stack ${stack} (or put the value into the secret ` +
            `yourself; npm run preflight -- --stack ${stack} checks it)`,
    );
}

/** Secret config values as secret Outputs (undefined when the key is not set). */
export type StackSecrets = { readonly [K in SecretKey]?: pulumi.Output<string> };

/** The project directory (where Pulumi.yaml is, and where the Pulumi CLI runs the program). */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** How {@link loadStackConfig} treats checks of the deploying machine rather than of the config values. */
export interface LoadOptions {
    /**
     * Receives each problem of the deploying machine (today: a weather build context that is not a directory)
     * instead of failing on it. Only the offline plan passes it: it builds no image, so it can plan a fresh clone.
     * The Pulumi CLI calls the program without options, and these problems fail it.
     */
    readonly warn?: (message: string) => void;
}

/** @pulumi/pulumi's runtime/config.js export that its typings leave out. */
interface RuntimeConfig {
    /** Whether the CLI handed the program `key` (`<project>:<name>`) as a secret: set with `--secret`. */
    isConfigSecret(key: string): boolean;
}

/** Reads this stack's config from the Pulumi runtime: the one entry point `index.ts` uses. */
export function loadStackConfig(options: LoadOptions = {}): { config: StackConfig; secrets: StackSecrets } {
    const prefix = `${PROJECT}:`;
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
        if (k.startsWith(prefix)) raw[k.slice(prefix.length)] = v;
    }
    const runtime = pulumi.runtime as unknown as RuntimeConfig;
    const secretKeys = SECRET_KEYS.filter((k) => runtime.isConfigSecret(`${prefix}${k}`));
    const stack = pulumi.getStack();
    const config = parseStackConfig(stack, raw, secretKeys);
    const problem = weatherAppPathProblem(config.weather, stack, PROJECT_DIR);
    if (problem !== undefined) {
        if (!options.warn) throw new ConfigError(stack, [problem]);
        options.warn(problem.message);
    }
    const cfg = new pulumi.Config(PROJECT);
    const secrets: { [K in SecretKey]?: pulumi.Output<string> } = {};
    // `""` (the declared default) is unset: no secret value is written for it.
    for (const key of SECRET_KEYS) secrets[key] = secretGiven(raw, key) ? cfg.getSecret(key) : undefined;
    return { config, secrets };
}
