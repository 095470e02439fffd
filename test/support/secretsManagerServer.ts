/**
 * A loopback Secrets Manager that answers GetSecretValue over the real JSON 1.1 protocol, so
 * serialized Lambdas read their secrets through the actual AWS SDK client (pointed here with
 * AWS_ENDPOINT_URL_SECRETS_MANAGER). Requests are logged; signatures are not checked.
 * test/contracts/aws.test.ts pins every answer to the AWS API reference.
 */
import * as http from "http";
import { AddressInfo } from "net";

export interface SecretsManagerServer {
    readonly endpoint: string;
    /** SecretIds asked for, in order. */
    readonly requests: string[];
    /** Makes the next `times` GetSecretValue calls answer `error`. */
    failNext(error: SecretsManagerError, times?: number): void;
    close(): Promise<void>;
}

export interface SecretsManagerError {
    readonly status: number;
    readonly type: string;
    readonly message: string;
}

/**
 * GetSecretValue's errors (https://docs.aws.amazon.com/secretsmanager/latest/apireference/
 * API_GetSecretValue.html, Errors): every client error is HTTP 400, InternalServiceError 500.
 */
export const SECRETS_MANAGER_ERRORS = {
    ResourceNotFoundException: {
        status: 400,
        type: "ResourceNotFoundException",
        message: "Secrets Manager can't find the specified secret.",
    },
    DecryptionFailure: {
        status: 400,
        type: "DecryptionFailure",
        message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
    },
    InternalServiceError: {
        status: 500,
        type: "InternalServiceError",
        message: "An error occurred on the server side.",
    },
} as const satisfies Record<string, SecretsManagerError>;

/** `secrets`: SecretId → value, or a function answering undefined for an unknown secret. */
export async function startSecretsManager(
    secrets: Record<string, string> | ((id: string) => string | undefined),
): Promise<SecretsManagerServer> {
    const requests: string[] = [];
    const faults: SecretsManagerError[] = [];
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
            // AWS JSON 1.1 errors carry their type in `__type`
            // (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html, "Operation error serialization").
            const fail = (e: SecretsManagerError) => reply(e.status, { __type: e.type, message: e.message });
            if (req.headers["x-amz-target"] !== "secretsmanager.GetSecretValue") {
                return reply(400, {
                    __type: "UnknownOperationException",
                    message: `unsupported ${String(req.headers["x-amz-target"])}`,
                });
            }
            const id = (JSON.parse(body || "{}") as { SecretId?: string }).SecretId ?? "";
            requests.push(id);
            const fault = faults.shift();
            if (fault) return fail(fault);
            const value = lookup(id);
            if (value === undefined) return fail(SECRETS_MANAGER_ERRORS.ResourceNotFoundException);
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
        failNext: (error, times = 1) => {
            for (let i = 0; i < times; i++) faults.push(error);
        },
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
