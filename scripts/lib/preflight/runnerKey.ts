/**
 * `secret.formSenderRunnerKey`: the form-sender runner's own Supabase key (publishable key + a JWT for the Postgres
 * role fs_runner) in the secret the stack creates without a value (components/formSender/jobDefinition.ts). An
 * operator mints and puts the value after the first `pulumi up` (README "Security"); a job started without it, or
 * with an expired token, stops at start. The preflight runs before the first deploy too, so a secret that does not
 * exist yet is not a failure.
 *
 * The value is parsed with the runner's own parser (containers/runner/src/secrets.ts) and the token's payload is
 * decoded to read `role` and `exp`. Its signature is not verified: the preflight does not hold the signing key, and
 * Supabase checks it on every request anyway. Nothing here prints the key or the token, only the role and the expiry.
 */
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { runnerKeySecretName } from "../../../components/formSender/jobDefinition";
import { parseSupabaseKey } from "../../../containers/runner/src/secrets";
import { RUNNER_ROLE } from "../../mintRunnerKey";
import { Clients, couldNotCheck, describeSecret, failedCall } from "./accountChecks";
import { errorName, isAccessDenied } from "./aws";
import { CheckResult, CheckStatus } from "./report";

export const RUNNER_KEY_CHECK = "secret.formSenderRunnerKey";
/** A token that expires within this many days is a WARN: mint the next one now. */
export const RUNNER_KEY_WARN_DAYS = 14;
const DAY_MS = 86_400_000;

export interface RunnerKeyInput {
    readonly stack: string;
    /** The stack's environment (config `environment`), from which the program names the secret. */
    readonly environment: string;
    /** The form-sender region (config `formSenderRegion`), where the stack creates the secret. */
    readonly region: string;
    /** Read the value (`--check-secret-keys`). */
    readonly checkSecretKeys: boolean;
    /** The clock the expiry is compared with. */
    readonly now: Date;
}

/** The command that mints the key and puts it in the secret (README "Security"). */
export function mintCommand(secretName: string, region: string): string {
    return (
        "SUPABASE_JWT_SECRET=… SUPABASE_PUBLISHABLE_KEY=… npm run -s mint-runner-key -- --days 90 | " +
        `aws secretsmanager put-secret-value --region ${region} --secret-id ${secretName} ` +
        "--secret-string file:///dev/stdin"
    );
}

/** What the preflight says about one runner key value: a status and a message that holds no part of the value. */
export interface RunnerKeyVerdict {
    readonly status: CheckStatus;
    readonly message: string;
}

/** The JWT's payload claims, decoded without checking the signature; undefined when `token` is not a JWT. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    try {
        const claims: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
        return typeof claims === "object" && claims !== null && !Array.isArray(claims)
            ? (claims as Record<string, unknown>)
            : undefined;
    } catch {
        return undefined;
    }
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Judges a runner key value (the secret's SecretString) at `now`: FAIL when the runner would refuse it or Supabase
 * would (not a runner key, a token for another role, no `exp`, expired), WARN when it expires within
 * {@link RUNNER_KEY_WARN_DAYS} days, PASS otherwise. Supabase wants `role` to name a Postgres role and `exp` in the
 * future (https://supabase.com/docs/guides/auth/signing-keys, "How to create (mint) JWTs"); an expired token fails
 * every RPC with 401 PGRST303.
 */
export function judgeRunnerKey(value: string, now: Date): RunnerKeyVerdict {
    let accessToken: string | undefined;
    try {
        // The runner's own rule; its errors name the fields, never a value.
        accessToken = parseSupabaseKey(value).accessToken;
    } catch (err) {
        return { status: "FAIL", message: `the runner cannot read it: ${(err as Error).message}` };
    }
    if (accessToken === undefined) {
        return {
            status: "FAIL",
            message:
                'it holds a plain API key, not the runner key JSON {"apikey", "access_token"}; the runner must ' +
                `use its own ${RUNNER_ROLE} token, not a service-role or secret key`,
        };
    }
    const claims = jwtClaims(accessToken);
    if (claims === undefined) {
        return { status: "FAIL", message: "its access_token is not a JWT (three base64url parts, a JSON payload)" };
    }
    const unchecked = "signature not checked";
    if (claims.role !== RUNNER_ROLE) {
        const role = typeof claims.role === "string" ? `"${claims.role}"` : "missing";
        return {
            status: "FAIL",
            message: `its token's role is ${role}; the runner's token must name ${RUNNER_ROLE} (${unchecked})`,
        };
    }
    if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) {
        return {
            status: "FAIL",
            message: `its ${RUNNER_ROLE} token has no numeric exp claim; Supabase refuses it (${unchecked})`,
        };
    }
    const expires = new Date(claims.exp * 1000);
    const left = expires.getTime() - now.getTime();
    if (left <= 0) {
        return {
            status: "FAIL",
            message: `its ${RUNNER_ROLE} token expired on ${expires.toISOString()}; every job stops at its first RPC`,
        };
    }
    const days = Math.floor(left / DAY_MS);
    if (left < RUNNER_KEY_WARN_DAYS * DAY_MS) {
        return {
            status: "WARN",
            message:
                `its ${RUNNER_ROLE} token expires on ${expires.toISOString()} (in ${days} days, under ` +
                `${RUNNER_KEY_WARN_DAYS}); mint the next one before then (${unchecked})`,
        };
    }
    return {
        status: "PASS",
        message: `a runner key for role ${RUNNER_ROLE}, expires on ${day(expires)} (in ${days} days; ${unchecked})`,
    };
}

/** The secret exists and is not scheduled for deletion; with `--check-secret-keys`, its value is a valid runner key. */
export async function runnerKeyChecks(clients: Clients, input: RunnerKeyInput): Promise<CheckResult[]> {
    const { region } = input;
    const name = runnerKeySecretName(input.environment);
    const id = RUNNER_KEY_CHECK;
    const mint = mintCommand(name, region);
    const sm = clients.secrets(region);
    // Both calls take the secret's name as SecretId; AWS accepts the name or the ARN
    // (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html and
    // API_GetSecretValue.html, "SecretId: The ARN or name of the secret").
    const state = await describeSecret(sm, id, region, name);
    if (state.kind === "unchecked") return [state.result];
    if (state.kind === "deleted") {
        return [
            {
                id,
                region,
                status: "FAIL",
                message: `${name} is scheduled for deletion (${state.deletedDate.toISOString()}); jobs cannot read it`,
                fix: `aws secretsmanager restore-secret --secret-id ${name} --region ${region}`,
            },
        ];
    }
    if (state.kind === "missing") {
        return [
            {
                id,
                region,
                status: "SKIP",
                message:
                    `${name} does not exist yet: the first pulumi up creates it without a value, ` +
                    "then mint the runner key into it before the first job",
                fix: `after pulumi up --stack ${input.stack}: ${mint}`,
            },
        ];
    }
    const exists: CheckResult = { id, region, status: "PASS", message: `${name} exists` };
    const tokenId = `${id}.token`;
    if (!input.checkSecretKeys) {
        return [
            exists,
            {
                id: tokenId,
                region,
                status: "SKIP",
                message:
                    "its value is not read without --check-secret-keys " +
                    `(needs a ${RUNNER_ROLE} runner key that has not expired)`,
            },
        ];
    }
    let value: string | undefined;
    try {
        const out = await sm.send(new GetSecretValueCommand({ SecretId: name }));
        value = out.SecretString;
    } catch (err) {
        if (isAccessDenied(err)) {
            return [exists, couldNotCheck(tokenId, region, "secretsmanager:GetSecretValue (and kms:Decrypt)", name)];
        }
        // A secret without a version answers ResourceNotFoundException "Secrets Manager can't find the specified
        // secret value for staging label: AWSCURRENT" (https://github.com/boto/boto3/issues/2794: create-secret
        // without a value, then get-secret-value; the message form in
        // https://github.com/aws/aws-sdk-js-v3/issues/7701).
        // The secret itself exists (DescribeSecret above), so this is the missing value.
        if (errorName(err) === "ResourceNotFoundException") {
            return [
                exists,
                {
                    id: tokenId,
                    region,
                    status: "FAIL",
                    message:
                        `${name} has no value yet (no AWSCURRENT version); ` +
                        "a form-sender job started now stops at start",
                    fix: mint,
                },
            ];
        }
        return [exists, failedCall(tokenId, region, name, err)];
    }
    if (typeof value !== "string" || value.trim() === "") {
        return [
            exists,
            {
                id: tokenId,
                region,
                status: "FAIL",
                message: `${name} has no string value (the runner reads SecretString only)`,
                fix: mint,
            },
        ];
    }
    const verdict = judgeRunnerKey(value, input.now);
    return [
        exists,
        {
            id: tokenId,
            region,
            status: verdict.status,
            message: `${name}: ${verdict.message}`,
            ...(verdict.status === "PASS" ? {} : { fix: mint }),
        },
    ];
}
