/**
 * Runtime wiring shared by the form-sender Lambdas: the Supabase client built from secrets read
 * at cold start (never from environment variables or the deployment package), and presigned
 * upload URLs.
 */
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createClient, SupabaseClient } from "@supabase/supabase-js";
import type { SendClient } from "./dispatcher";

/** A memoized Supabase client whose URL and service-role key come from Secrets Manager. */
export function supabaseFromSecrets(secrets: SendClient, urlSecretArn: string, keySecretArn: string): () => Promise<SupabaseClient> {
    let client: Promise<SupabaseClient> | undefined;
    const read = async (arn: string) => {
        const out = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
        if (!out.SecretString) throw new Error(`secret ${arn} has no value; set it with aws secretsmanager put-secret-value`);
        return out.SecretString as string;
    };
    return () => {
        client ??= Promise.all([read(urlSecretArn), read(keySecretArn)])
            .then(([url, key]) => createClient(url, key, { auth: { persistSession: false, autoRefreshToken: false } }))
            .catch((e) => {
                client = undefined; // a failed read is retried on the next request
                throw e;
            });
        return client;
    };
}

export function presignPutWith(s3: S3Client, bucket: string): (key: string, seconds: number) => Promise<string> {
    return (key, seconds) => getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: "application/json" }), { expiresIn: seconds });
}
