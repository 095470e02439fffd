/**
 * An S3-compatible loopback server for tests: path-style PutObject, GetObject, HeadObject and
 * DeleteObject, as @aws-sdk/client-s3 sends them with `forcePathStyle: true`, and the same
 * operations through presigned URLs. Signatures are not verified (the tests exercise our code,
 * not AWS's authentication); everything else answers the way S3 does. What each answer is based
 * on is pinned by test/contracts/aws.test.ts.
 *
 * A missing key answers the way S3 answers the caller's role: 404 NoSuchKey only when the caller
 * holds s3:ListBucket on the bucket, 403 AccessDenied otherwise ("If you don't have the
 * s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access Denied error",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, Permissions; the same for
 * HeadObject). The server cannot tell callers apart, so a test declares which buckets its callers
 * may list in `listableBuckets`, mirroring the IAM policy of the role it stands in for.
 */
import { createHash } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";

export interface StoredObject {
    body: Buffer;
    contentType: string;
    etag: string;
    lastModified: Date;
}

export interface S3Server {
    readonly endpoint: string;
    /** `bucket/key` → object. */
    readonly objects: Map<string, StoredObject>;
    /** Every request as `METHOD /bucket/key`. */
    readonly requests: string[];
    /** Buckets whose callers hold s3:ListBucket: a missing key there is 404 NoSuchKey, elsewhere 403. */
    readonly listableBuckets: Set<string>;
    /** While set, PutObject answers this HTTP status (fault injection). */
    failPutsWith: number | undefined;
    /**
     * Makes the next `times` requests of `operation` fail with an S3 error, e.g.
     * `failNext("PutObject", S3_ERRORS.SlowDown)`.
     */
    failNext(operation: S3Operation, error: S3Error, times?: number): void;
    /** Drops the faults `failNext` queued that have not fired yet. */
    clearFaults(): void;
    close(): Promise<void>;
}

export type S3Operation = "PutObject" | "GetObject" | "HeadObject" | "DeleteObject";

export interface S3Error {
    readonly status: number;
    readonly code: string;
    readonly message: string;
}

/**
 * The errors the project's code meets, as S3 sends them
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html, "List of error codes").
 */
export const S3_ERRORS = {
    AccessDenied: { status: 403, code: "AccessDenied", message: "Access Denied" },
    InternalError: {
        status: 500,
        code: "InternalError",
        message: "We encountered an internal error. Please try again.",
    },
    ServiceUnavailable: { status: 503, code: "ServiceUnavailable", message: "Service is unable to handle request." },
    SlowDown: { status: 503, code: "SlowDown", message: "Please reduce your request rate." },
} as const satisfies Record<string, S3Error>;

const OPERATION_BY_METHOD: Readonly<Record<string, S3Operation>> = {
    PUT: "PutObject",
    GET: "GetObject",
    HEAD: "HeadObject",
    DELETE: "DeleteObject",
};

const xmlError = (code: string, message: string, key: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><Key>${key}</Key><RequestId>LOCAL0000000000</RequestId></Error>`;

export async function startS3Server(): Promise<S3Server> {
    const objects = new Map<string, StoredObject>();
    const requests: string[] = [];
    const listableBuckets = new Set<string>();
    const faults: { operation: S3Operation; error: S3Error }[] = [];
    const state: { failPutsWith: number | undefined } = { failPutsWith: undefined };
    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const url = new URL(req.url ?? "/", "http://localhost");
        const path = decodeURIComponent(url.pathname).replace(/^\//, "");
        requests.push(`${req.method} /${path}`);
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const obj = objects.get(path);
        // HEAD answers carry no body; the SDK then names the error after the status (NotFound, Forbidden).
        const fail = (error: S3Error) => {
            res.writeHead(error.status, { "content-type": "application/xml" });
            res.end(req.method === "HEAD" ? undefined : xmlError(error.code, error.message, path));
        };
        const notFound = () =>
            listableBuckets.has(path.split("/")[0])
                ? fail({ status: 404, code: "NoSuchKey", message: "The specified key does not exist." })
                : fail(S3_ERRORS.AccessDenied);
        const operation = OPERATION_BY_METHOD[req.method ?? ""];
        const fault = faults.findIndex((f) => f.operation === operation);
        if (fault >= 0) return fail(faults.splice(fault, 1)[0].error);
        switch (req.method) {
            case "PUT": {
                if (state.failPutsWith) return fail({ ...S3_ERRORS.InternalError, status: state.failPutsWith });
                let body: Buffer = Buffer.concat(chunks);
                // SDK v3 may stream with aws-chunked encoding; strip the chunk framing.
                if (String(req.headers["content-encoding"] ?? "").includes("aws-chunked"))
                    body = decodeAwsChunked(body);
                const etag = `"${createHash("md5").update(body).digest("hex")}"`;
                objects.set(path, {
                    body,
                    contentType: String(req.headers["content-type"] ?? "application/octet-stream"),
                    etag,
                    lastModified: new Date(),
                });
                res.writeHead(200, { etag });
                return res.end();
            }
            case "GET":
            case "HEAD":
                if (!obj) return notFound();
                res.writeHead(200, {
                    "content-type": obj.contentType,
                    "content-length": obj.body.length,
                    etag: obj.etag,
                    "last-modified": obj.lastModified.toUTCString(),
                });
                return res.end(req.method === "GET" ? obj.body : undefined);
            case "DELETE":
                objects.delete(path);
                res.writeHead(204);
                return res.end();
            default:
                res.writeHead(405);
                return res.end();
        }
    };
    // A handler that throws surfaces as an unhandled rejection, which fails the test run.
    const server = http.createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        objects,
        requests,
        listableBuckets,
        failNext: (operation, error, times = 1) => {
            for (let i = 0; i < times; i++) faults.push({ operation, error });
        },
        clearFaults: () => void faults.splice(0),
        get failPutsWith() {
            return state.failPutsWith;
        },
        set failPutsWith(v: number | undefined) {
            state.failPutsWith = v;
        },
        close: () => {
            server.closeAllConnections();
            return new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

function decodeAwsChunked(buf: Buffer): Buffer {
    const out: Buffer[] = [];
    let i = 0;
    while (i < buf.length) {
        const lineEnd = buf.indexOf("\r\n", i);
        if (lineEnd < 0) break;
        const size = parseInt(buf.subarray(i, lineEnd).toString("ascii").split(";")[0], 16);
        if (!size) break;
        out.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        i = lineEnd + 2 + size + 2;
    }
    return Buffer.concat(out);
}
