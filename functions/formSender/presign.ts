/**
 * Presigned S3 PUT URLs (AWS Signature Version 4, query-string form), computed here with
 * node:crypto. The SDK's presigner is not guaranteed in the Lambda runtime, and bundling it
 * next to the runtime's SDK clients would mix two SDK versions in one process; this is the
 * small, fixed part of SigV4 that a PUT of one object needs
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html). The tests
 * check every URL against @smithy/signature-v4.
 */
import { createHash, createHmac } from "crypto";

export interface SigningCredentials {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
}

export interface PresignPutOptions {
    readonly bucket: string;
    readonly key: string;
    readonly region: string;
    readonly credentials: SigningCredentials;
    /** 1 s to 7 days, as S3 allows. */
    readonly expiresInSeconds: number;
    /** Signed: the upload must send exactly this Content-Type. */
    readonly contentType: string;
    readonly now: Date;
    /**
     * A custom S3 endpoint (AWS_ENDPOINT_URL_S3), addressed path-style; without one the URL is
     * the bucket's virtual-hosted regional endpoint.
     */
    readonly endpoint?: string;
}

const MAX_EXPIRY_SECONDS = 7 * 24 * 3600;

/** RFC 3986 encoding, as SigV4 requires (encodeURIComponent leaves !'()* alone). */
const encode = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

export function presignS3Put(o: PresignPutOptions): string {
    if (!Number.isInteger(o.expiresInSeconds) || o.expiresInSeconds < 1 || o.expiresInSeconds > MAX_EXPIRY_SECONDS) {
        throw new Error(
            `presigned URL expiry must be a whole number of seconds from 1 to ${MAX_EXPIRY_SECONDS}, ` +
                `got ${o.expiresInSeconds}`,
        );
    }
    const amzDate = o.now
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, ""); // 20261123T010203Z
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${o.region}/s3/aws4_request`;
    const keyPath = o.key.split("/").map(encode).join("/");
    let origin: string;
    let host: string;
    let path: string;
    if (o.endpoint) {
        const url = new URL(o.endpoint);
        origin = url.origin;
        host = url.host;
        path = `${url.pathname.replace(/\/+$/, "")}/${encode(o.bucket)}/${keyPath}`;
    } else {
        host = `${o.bucket}.s3.${o.region}.amazonaws.com`;
        origin = `https://${host}`;
        path = `/${keyPath}`;
    }
    const signedHeaders = "content-type;host";
    const params: [string, string][] = [
        ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
        ["X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"],
        ["X-Amz-Credential", `${o.credentials.accessKeyId}/${scope}`],
        ["X-Amz-Date", amzDate],
        ["X-Amz-Expires", String(o.expiresInSeconds)],
        ["X-Amz-SignedHeaders", signedHeaders],
    ];
    if (o.credentials.sessionToken) params.push(["X-Amz-Security-Token", o.credentials.sessionToken]);
    const query = params
        .map(([k, v]) => [encode(k), encode(v)])
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join("&");
    const canonicalRequest = [
        "PUT",
        path,
        query,
        `content-type:${o.contentType.trim()}\nhost:${host}\n`,
        signedHeaders,
        "UNSIGNED-PAYLOAD",
    ].join("\n");
    const stringToSign = [
        "AWS4-HMAC-SHA256",
        amzDate,
        scope,
        createHash("sha256").update(canonicalRequest, "utf8").digest("hex"),
    ].join("\n");
    const signingKey = hmac(
        hmac(hmac(hmac(`AWS4${o.credentials.secretAccessKey}`, day), o.region), "s3"),
        "aws4_request",
    );
    return `${origin}${path}?${query}&X-Amz-Signature=${hmac(signingKey, stringToSign).toString("hex")}`;
}
