/**
 * Runtime wiring shared by the form-sender Lambdas: the Supabase RPC client built from secrets
 * read at cold start (never from environment variables or the deployment package), and
 * presigned upload URLs.
 */
import { GetSecretValueCommand, GetSecretValueCommandOutput } from "@aws-sdk/client-secrets-manager";
import type { S3Client } from "@aws-sdk/client-s3";
import type { RpcClient, SendClient } from "./dispatcher";
import { presignS3Put } from "./presign";

/**
 * A PostgREST client for the Supabase project at `url`, authenticated as supabase-js does it
 * (`apikey` plus the key as bearer token). The functions only call RPCs, so they use the
 * PostgREST client supabase-js is built on rather than supabase-js with its auth, realtime
 * and storage clients (a fifth of the bundle size).
 */
export function supabaseRpc(url: string, serviceRoleKey: string): RpcClient {
    // Required at call time rather than imported: Pulumi's closure serializer cannot capture a
    // class from a package whose "exports" map hides the class's own file, and this require
    // resolves in the deployed bundle like any other.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: an import would not serialize
    const { PostgrestClient } = require("@supabase/postgrest-js") as typeof import("@supabase/postgrest-js");
    return new PostgrestClient(new URL("rest/v1", url.endsWith("/") ? url : `${url}/`).href, {
        headers: {
            apikey: serviceRoleKey,
            Authorization: `Bearer ${serviceRoleKey}`,
            "X-Client-Info": "ops-platform-form-sender",
        },
    });
}

/** A memoized Supabase RPC client whose URL and service-role key come from Secrets Manager. */
export function supabaseFromSecrets(
    secrets: SendClient,
    urlSecretArn: string,
    keySecretArn: string,
): () => Promise<RpcClient> {
    let client: Promise<RpcClient> | undefined;
    const read = async (arn: string) => {
        const out = (await secrets.send(new GetSecretValueCommand({ SecretId: arn }))) as GetSecretValueCommandOutput;
        if (!out.SecretString)
            throw new Error(`secret ${arn} has no value; set it with aws secretsmanager put-secret-value`);
        return out.SecretString;
    };
    return () => {
        client ??= Promise.all([read(urlSecretArn), read(keySecretArn)])
            .then(([url, key]) => supabaseRpc(url, key))
            .catch((e) => {
                client = undefined; // a failed read is retried on the next request
                throw e;
            });
        return client;
    };
}

/**
 * Presigned PUT URLs for client configs, signed with the S3 client's own credentials and region
 * (the Lambda role's session credentials in production). A custom S3 endpoint
 * (AWS_ENDPOINT_URL_S3) is addressed path-style, as the SDK addresses it.
 */
export function presignPutWith(
    s3: S3Client,
    bucket: string,
    endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL,
): (key: string, seconds: number) => Promise<string> {
    return async (key, seconds) =>
        presignS3Put({
            bucket,
            key,
            region: await s3.config.region(),
            credentials: await s3.config.credentials(),
            expiresInSeconds: seconds,
            contentType: "application/json",
            now: new Date(),
            endpoint,
        });
}
