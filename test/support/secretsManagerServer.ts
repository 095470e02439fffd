/**
 * A loopback Secrets Manager that answers GetSecretValue over the real JSON 1.1 protocol, so
 * serialized Lambdas read their secrets through the actual AWS SDK client (pointed here with
 * AWS_ENDPOINT_URL_SECRETS_MANAGER). Requests are logged; signatures are not checked.
 */
import * as http from "http";
import { AddressInfo } from "net";

export interface SecretsManagerServer {
    readonly endpoint: string;
    /** SecretIds asked for, in order. */
    readonly requests: string[];
    close(): Promise<void>;
}

/** `secrets`: SecretId → value, or a function answering undefined for an unknown secret. */
export async function startSecretsManager(
    secrets: Record<string, string> | ((id: string) => string | undefined),
): Promise<SecretsManagerServer> {
    const requests: string[] = [];
    const lookup =
        typeof secrets === "function"
            ? secrets
            : (id: string) => (Object.hasOwn(secrets, id) ? secrets[id] : undefined);
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            const reply = (status: number, doc: unknown) => {
                res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
                res.end(JSON.stringify(doc));
            };
            if (req.headers["x-amz-target"] !== "secretsmanager.GetSecretValue") {
                return reply(400, {
                    __type: "UnknownOperationException",
                    message: `unsupported ${String(req.headers["x-amz-target"])}`,
                });
            }
            const id = (JSON.parse(body || "{}") as { SecretId?: string }).SecretId ?? "";
            requests.push(id);
            const value = lookup(id);
            if (value === undefined)
                return reply(400, {
                    __type: "ResourceNotFoundException",
                    message: "Secrets Manager can't find the specified secret.",
                });
            const name = id.split(":secret:")[1]?.replace(/-[A-Za-z0-9]{6}$/, "") ?? id;
            reply(200, {
                ARN: id,
                Name: name,
                SecretString: value,
                VersionId: "00000000-0000-0000-0000-000000000001",
                VersionStages: ["AWSCURRENT"],
                CreatedDate: 1735689600,
            });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
