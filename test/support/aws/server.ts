/**
 * One loopback HTTP server standing in for every AWS API the preflight calls. It tells the services apart the way
 * their wire protocols do — JSON 1.1 by the X-Amz-Target prefix, query APIs by the form's Version, REST-JSON by
 * path — and hands each request to that service's file. Point the SDK here with AWS_ENDPOINT_URL (or
 * AWS_ENDPOINT_URL_<SERVICE>), https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html.
 */
import * as http from "http";
import { AddressInfo } from "net";
import { FakeAccount } from "./account";
import { handleAcm } from "./acm";
import { handleApiGateway } from "./apiGateway";
import { handleEc2 } from "./ec2";
import { handleIam } from "./iam";
import { handleLambda } from "./lambda";
import { handleSecretsManager } from "./secretsManager";
import { handleServiceQuotas } from "./serviceQuotas";
import { handleSts } from "./sts";

/** A request as the service handlers see it. */
export interface FakeRequest {
    readonly method: string;
    readonly path: string;
    readonly target: string;
    readonly form: URLSearchParams;
    readonly json: Record<string, unknown>;
    /** From the SigV4 Authorization header: `Credential=<key id>/<date>/<region>/<service>/aws4_request`. */
    readonly accessKeyId: string;
    readonly region: string;
}

export interface FakeResponse {
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body: string;
}

export type ServiceHandler = (req: FakeRequest, account: FakeAccount) => FakeResponse | undefined;

const HANDLERS: ServiceHandler[] = [
    handleServiceQuotas,
    handleAcm,
    handleSecretsManager,
    handleSts,
    handleIam,
    handleEc2,
    handleLambda,
    handleApiGateway,
];

export interface FakeAws {
    readonly endpoint: string;
    readonly account: FakeAccount;
    close(): Promise<void>;
}

export async function startFakeAws(account: FakeAccount): Promise<FakeAws> {
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\//.exec(req.headers.authorization ?? "");
            const contentType = req.headers["content-type"] ?? "";
            let json: Record<string, unknown> = {};
            if (contentType.includes("json") && body) json = JSON.parse(body) as Record<string, unknown>;
            const request: FakeRequest = {
                method: req.method ?? "GET",
                path: new URL(req.url ?? "/", "http://localhost").pathname,
                target: String(req.headers["x-amz-target"] ?? ""),
                form: new URLSearchParams(contentType.includes("x-www-form-urlencoded") ? body : ""),
                json,
                accessKeyId: scope?.[1] ?? "",
                region: scope?.[2] ?? "us-east-1",
            };
            for (const handle of HANDLERS) {
                const out = handle(request, account);
                if (out) {
                    res.writeHead(out.status, { "x-amzn-requestid": "fake-request", ...out.headers });
                    res.end(out.body);
                    return;
                }
            }
            res.writeHead(404, { "content-type": "text/plain" });
            res.end(
                `no stand-in for ${request.method} ${request.path} ${request.target} ${request.form.get("Action") ?? ""}`,
            );
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        account,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/** JSON 1.1 answer (Service Quotas, ACM, Secrets Manager). Errors carry `__type`, the SDK's error name. */
export function json11(status: number, doc: unknown): FakeResponse {
    return { status, headers: { "content-type": "application/x-amz-json-1.1" }, body: JSON.stringify(doc) };
}

export function json11Error(status: number, type: string, message: string): FakeResponse {
    return json11(status, { __type: type, message });
}

/** REST-JSON answer (Lambda, API Gateway); errors name their type in the x-amzn-ErrorType header. */
export function restJson(status: number, doc: unknown, errorType?: string): FakeResponse {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (errorType) headers["x-amzn-errortype"] = errorType;
    return { status, headers, body: JSON.stringify(doc) };
}

export function xml(status: number, doc: string): FakeResponse {
    return { status, headers: { "content-type": "text/xml" }, body: `<?xml version="1.0" encoding="UTF-8"?>\n${doc}` };
}

/** A string member of a JSON request body ("" when absent or not a string). */
export const member = (req: FakeRequest, name: string): string => {
    const v = req.json[name];
    return typeof v === "string" ? v : "";
};
