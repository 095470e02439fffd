/**
 * `secret.formSenderSupabaseUrl` and `secret.formSenderSupabaseServiceRoleKey`: the Supabase URL and service-role key
 * the form-sender functions read from `/fs-runner/<env>/supabase/url|key` at their first call
 * (functions/formSender/runtime.ts `supabaseFromSecrets`). Pulumi.yaml defaults both config keys to `""`, and then
 * `pulumi up` creates the secrets without a value (components/formSender/jobDefinition.ts): the deploy is green and
 * the dispatcher answers 500 to every call. So each check passes when the stack file sets the key (encrypted; the
 * value is written at `pulumi up`), or when the key is empty and the secret already has a value put outside Pulumi;
 * it fails otherwise, naming the key, the secret and the command that sets it.
 *
 * With `--check-secret-keys` a value put outside Pulumi is read too: the URL must be an https URL (a Supabase project
 * URL is `https://<project-ref>.supabase.co`: Project Settings → API, e.g. `https://xyzcompany.supabase.co` in
 * https://supabase.com/docs/reference/swift "Initializing"; a custom domain is another https host), the key
 * non-empty without surrounding whitespace (it is sent as the `apikey` and bearer header). No value is ever printed:
 * the messages say "empty" or "set" and name the shape only.
 */
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { FORM_SENDER_REQUIRED_SECRETS } from "../../../components/config";
import { Clients, couldNotCheck, describeSecret, failedCall } from "./accountChecks";
import { isAccessDenied } from "./aws";
import { CheckResult, CheckStatus } from "./report";

type RequiredSecret = (typeof FORM_SENDER_REQUIRED_SECRETS)[number];
type RequiredKey = RequiredSecret["key"];

/** The check id of each key: `secret.<config key>`. */
export const supabaseCheckId = (key: RequiredKey): string => `secret.${key}`;

export interface SupabaseSecretsInput {
    readonly stack: string;
    /** The stack's environment (config `environment`), from which the program names the secrets. */
    readonly environment: string;
    /** The form-sender region (config `formSenderRegion`), where the stack creates the secrets. */
    readonly region: string;
    /** Whether the stack file sets each key (components/config `secretConfigured`). */
    readonly configured: Readonly<Record<RequiredKey, boolean>>;
    /** Read the values put outside Pulumi (`--check-secret-keys`). */
    readonly checkSecretKeys: boolean;
}

/** `pulumi config set --secret <key> <example> --stack <stack>`, the fix of every failure here. */
export const setSecretCommand = (s: RequiredSecret, stack: string): string =>
    `pulumi config set --secret ${s.key} ${s.example} --stack ${stack}`;

/** A Supabase project URL: https://<project-ref>.supabase.co. */
const SUPABASE_PROJECT_URL = /^https:\/\/[a-z0-9-]+\.supabase\.co\/?$/;

/**
 * Judges a value put into the secret outside Pulumi; the message names its shape, never the value. The URL is
 * parsed as the dispatcher parses it (`new URL("rest/v1", url)`, functions/formSender/runtime.ts).
 */
export function judgeSupabaseValue(key: RequiredKey, value: string): { status: CheckStatus; message: string } {
    if (value.trim() === "") return { status: "FAIL", message: "its value is empty" };
    if (value.trim() !== value) {
        return { status: "FAIL", message: "its value is set but has leading or trailing whitespace (a newline?)" };
    }
    if (key === "formSenderSupabaseServiceRoleKey") return { status: "PASS", message: "its value is set" };
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        return {
            status: "FAIL",
            message: "its value is set but is not a URL (expected https://<project-ref>.supabase.co)",
        };
    }
    if (url.protocol !== "https:") {
        return {
            status: "FAIL",
            message: `its value is set but is a ${url.protocol} URL, not https (expected https://<project-ref>.supabase.co)`,
        };
    }
    return SUPABASE_PROJECT_URL.test(value)
        ? { status: "PASS", message: "its value is set: a https://<project-ref>.supabase.co URL" }
        : {
              status: "PASS",
              message: "its value is set: an https URL, not <project-ref>.supabase.co (a custom domain?)",
          };
}

async function checkOne(clients: Clients, input: SupabaseSecretsInput, secret: RequiredSecret): Promise<CheckResult> {
    const { region, stack } = input;
    const id = supabaseCheckId(secret.key);
    const name = secret.secretName(input.environment);
    const fix = setSecretCommand(secret, stack);
    if (input.configured[secret.key]) {
        return {
            id,
            region,
            status: "PASS",
            message: `config ${secret.key} is set (encrypted in the stack file); pulumi up writes it to ${name}`,
        };
    }
    const empty = `config ${secret.key} is empty (the Pulumi.yaml default), so pulumi up writes no value to ${name}`;
    const broken = "the form-sender API answers 500 to every call";
    const sm = clients.secrets(region);
    const state = await describeSecret(sm, id, region, name);
    switch (state.kind) {
        case "unchecked":
            return state.result;
        case "deleted":
            return {
                id,
                region,
                status: "FAIL",
                message: `${empty}, and the secret is scheduled for deletion (${state.deletedDate.toISOString()})`,
                fix: `aws secretsmanager restore-secret --secret-id ${name} --region ${region}, then ${fix}`,
            };
        case "missing":
            return {
                id,
                region,
                status: "FAIL",
                message: `${empty}, and the secret does not exist yet: pulumi up creates it empty and ${broken}`,
                fix,
            };
        case "present":
            if (!state.hasCurrentValue) {
                return {
                    id,
                    region,
                    status: "FAIL",
                    message: `${empty}, and the secret has no value (no AWSCURRENT version): ${broken}`,
                    fix,
                };
            }
    }
    const putOutside = `${empty}; the secret has a value put outside Pulumi (pulumi up leaves it)`;
    if (!input.checkSecretKeys) {
        return { id, region, status: "PASS", message: `${putOutside}; not read without --check-secret-keys` };
    }
    let value: string | undefined;
    try {
        value = (await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (err) {
        if (isAccessDenied(err)) {
            return couldNotCheck(id, region, "secretsmanager:GetSecretValue (and kms:Decrypt)", name);
        }
        return failedCall(id, region, name, err);
    }
    const verdict = judgeSupabaseValue(secret.key, value ?? "");
    return {
        id,
        region,
        status: verdict.status,
        message: `${putOutside}, and ${verdict.message}`,
        ...(verdict.status === "PASS" ? {} : { fix }),
    };
}

/** One check per required Supabase secret, in FORM_SENDER_REQUIRED_SECRETS order. */
export function supabaseSecretChecks(clients: Clients, input: SupabaseSecretsInput): Promise<CheckResult[]> {
    return Promise.all(FORM_SENDER_REQUIRED_SECRETS.map((s) => checkOne(clients, input, s)));
}
