/**
 * SDK plumbing of the preflight: credentials resolved once through the SDK's default chain, bounded timeouts on
 * every call, and the classification of errors into "missing permission", "not found" and "unreachable".
 *
 * Endpoints are the SDK's own: a client honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html), which is how the tests point it at
 * loopback stand-ins; there is no other switch.
 */
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";

/** The SDK's credential provider and identity types, taken from the chain itself (no extra type package). */
export type AwsCredentialIdentityProvider = ReturnType<typeof fromNodeProviderChain>;
export type AwsCredentialIdentity = Awaited<ReturnType<AwsCredentialIdentityProvider>>;

/** Per-call limits: a connection within 3 s, an answer within 8 s, one retry. The whole run stays well under 60 s. */
export const CONNECTION_TIMEOUT_MS = 3_000;
export const REQUEST_TIMEOUT_MS = 8_000;
export const MAX_ATTEMPTS = 2;
/** Credential resolution (env, profile, SSO, container, IMDS) gets this long before the run stops. */
export const CREDENTIALS_TIMEOUT_MS = 5_000;

/** Client configuration shared by every SDK client of the preflight. */
export interface ClientConfig {
    region: string;
    credentials: AwsCredentialIdentityProvider;
    maxAttempts: number;
    requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: boolean };
}

export function clientConfig(region: string, credentials: AwsCredentialIdentityProvider): ClientConfig {
    return {
        region,
        credentials,
        maxAttempts: MAX_ATTEMPTS,
        // Without throwOnRequestTimeout the handler only logs a request past requestTimeout and keeps waiting.
        requestHandler: {
            connectionTimeout: CONNECTION_TIMEOUT_MS,
            requestTimeout: REQUEST_TIMEOUT_MS,
            throwOnRequestTimeout: true,
        },
    };
}

/** How to provide credentials, for the message of a run that has none. */
export const CREDENTIALS_HELP =
    "provide AWS credentials the way the AWS CLI takes them: `aws sso login --profile <p>` then AWS_PROFILE=<p>, " +
    "or `aws configure` (~/.aws/credentials), or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN) " +
    "in the environment; then rerun npm run preflight";

/**
 * Resolves credentials once through the SDK's default provider chain (environment, SSO, shared ini files,
 * process, web identity, container and instance metadata), with a deadline. The caller adds {@link CREDENTIALS_HELP}.
 */
export async function resolveCredentials(
    timeoutMs: number = CREDENTIALS_TIMEOUT_MS,
): Promise<{ identity: AwsCredentialIdentity; provider: AwsCredentialIdentityProvider }> {
    const chain = fromNodeProviderChain();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
            () => reject(new Error(`the default provider chain found none within ${timeoutMs / 1000} s`)),
            timeoutMs,
        );
    });
    try {
        const identity = await Promise.race([chain(), deadline]);
        return { identity, provider: () => Promise.resolve(identity) };
    } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`no AWS credentials: ${reason}`, { cause: err });
    } finally {
        clearTimeout(timer);
    }
}

interface SdkError {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
}

const asSdkError = (err: unknown): SdkError => (typeof err === "object" && err !== null ? err : {});

/**
 * Whether the caller lacks permission: `AccessDenied` (IAM, STS query APIs), `AccessDeniedException` (JSON
 * APIs), `UnauthorizedOperation` (EC2, https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
 */
export function isAccessDenied(err: unknown): boolean {
    const e = asSdkError(err);
    return (
        e.name === "AccessDenied" ||
        e.name === "AccessDeniedException" ||
        e.name === "UnauthorizedOperation" ||
        e.name === "UnauthorizedAccess" ||
        e.$metadata?.httpStatusCode === 403
    );
}

export const errorName = (err: unknown): string => asSdkError(err).name ?? "Error";

/** A network failure or timeout: the endpoint did not answer. */
export function isUnreachable(err: unknown): boolean {
    const e = asSdkError(err);
    return (
        e.name === "TimeoutError" ||
        e.name === "AbortError" ||
        ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH"].includes(e.code ?? "")
    );
}

/** One-line description of an error the checks do not expect, naming its code. */
export function describeError(err: unknown): string {
    const e = asSdkError(err);
    if (isUnreachable(err)) return `the endpoint did not answer (${e.code ?? e.name}: ${e.message ?? ""})`.trim();
    return `${e.name ?? "Error"}: ${e.message ?? String(err)}`;
}
