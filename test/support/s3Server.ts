/**
 * An S3-compatible loopback server for tests: path-style PutObject, GetObject, HeadObject and
 * DeleteObject, as @aws-sdk/client-s3 sends them with `forcePathStyle: true`, and the same
 * operations through presigned URLs. Signatures are not verified (the tests exercise our code,
 * not AWS's authentication); everything else answers the way S3 does, including NoSuchKey.
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
    /** While set, PutObject answers this HTTP status (fault injection). */
    failPutsWith: number | undefined;
    close(): Promise<void>;
}

const xmlError = (code: string, message: string, key: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><Key>${key}</Key></Error>`;

export async function startS3Server(): Promise<S3Server> {
    const objects = new Map<string, StoredObject>();
    const requests: string[] = [];
    const state: { failPutsWith: number | undefined } = { failPutsWith: undefined };
    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const url = new URL(req.url ?? "/", "http://localhost");
        const path = decodeURIComponent(url.pathname).replace(/^\//, "");
        requests.push(`${req.method} /${path}`);
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const obj = objects.get(path);
        const notFound = () => {
            res.writeHead(404, { "content-type": "application/xml" });
            res.end(
                req.method === "HEAD" ? undefined : xmlError("NoSuchKey", "The specified key does not exist.", path),
            );
        };
        switch (req.method) {
            case "PUT": {
                if (state.failPutsWith) {
                    res.writeHead(state.failPutsWith, { "content-type": "application/xml" });
                    return res.end(xmlError("InternalError", "injected failure", path));
                }
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
