/**
 * A loopback stand-in for the AWS Batch, EC2 and SNS operations the form-sender functions call,
 * speaking each service's real wire protocol (Batch REST-JSON, EC2 query, SNS query with XML
 * answers), so serialized Lambdas run their actual SDK clients against it (pointed here with
 * AWS_ENDPOINT_URL_BATCH / _EC2 / _SNS). Signatures are not checked; state is kept so tests
 * can assert what the functions did. `failNext` makes an operation answer one of the errors in
 * AWS_ERRORS, in that service's error wire format; test/contracts/aws.test.ts pins every answer
 * to the AWS API reference.
 */
import type {
    DescribeComputeEnvironmentsCommandInput,
    SubmitJobCommandInput,
    TagResourceCommandInput,
    TerminateJobCommandInput,
    UpdateComputeEnvironmentCommandInput,
} from "@aws-sdk/client-batch";
import * as http from "http";
import { AddressInfo } from "net";

export interface SpotPrice {
    readonly instanceType: string;
    readonly availabilityZone: string;
    readonly price: number;
    readonly timestamp: Date;
}

export interface ComputeEnvironmentState {
    readonly arn: string;
    maxvCpus: number;
    tags: Record<string, string>;
}

export interface AwsApiServer {
    readonly endpoint: string;
    /** SubmitJob request bodies, in order. */
    readonly submittedJobs: SubmitJobCommandInput[];
    /** TerminateJob request bodies. */
    readonly terminatedJobs: TerminateJobCommandInput[];
    /** SNS Publish calls. */
    readonly published: { topicArn: string; subject?: string; message: string }[];
    /** Compute environments by ARN; one asked for but unknown is created with `defaultMaxvCpus`. */
    readonly computeEnvironments: Map<string, ComputeEnvironmentState>;
    spotPrices: SpotPrice[];
    defaultMaxvCpus: number;
    /** Every call as `<service>.<operation>`. */
    readonly calls: string[];
    /** Makes the next `times` calls of `operation` (e.g. "batch.SubmitJob") answer `error`. */
    failNext(operation: AwsOperation, error: AwsError, times?: number): void;
    /** Drops the faults `failNext` queued that have not fired yet. */
    clearFaults(): void;
    close(): Promise<void>;
}

export type AwsOperation =
    | "batch.SubmitJob"
    | "batch.TerminateJob"
    | "batch.DescribeComputeEnvironments"
    | "batch.UpdateComputeEnvironment"
    | "batch.TagResource"
    | "batch.UntagResource"
    | "ec2.DescribeSpotPriceHistory"
    | "sns.Publish";

export interface AwsError {
    readonly status: number;
    readonly code: string;
    readonly message: string;
}

/** The errors the project's code meets, per service, with the HTTP status each service sends. */
export const AWS_ERRORS = {
    batch: {
        // https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html, Errors (the same two
        // for every Batch operation): ClientException 400, ServerException 500.
        ClientException: { status: 400, code: "ClientException", message: "Job Queue does not exist." },
        ServerException: { status: 500, code: "ServerException", message: "Internal server error." },
        // Not in the API reference: "Too Many Requests (Service: AWSBatch; Status Code: 429; Error Code:
        // TooManyRequestsException)", https://repost.aws/knowledge-center/aws-batch-requests-error.
        TooManyRequestsException: { status: 429, code: "TooManyRequestsException", message: "Too Many Requests" },
    },
    ec2: {
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html: client errors
        // are 4xx, server errors 5xx. RequestLimitExceeded comes with 503 Service Unavailable (as SDKs
        // report it, e.g. "Status Code: 503; Error Code: RequestLimitExceeded").
        RequestLimitExceeded: { status: 503, code: "RequestLimitExceeded", message: "Request limit exceeded." },
        UnauthorizedOperation: {
            status: 403,
            code: "UnauthorizedOperation",
            message: "You are not authorized to perform this operation.",
        },
    },
    sns: {
        // https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, Errors: NotFound 404,
        // AuthorizationError 403, Throttled 429, InternalError 500.
        NotFound: { status: 404, code: "NotFound", message: "Topic does not exist" },
        AuthorizationError: { status: 403, code: "AuthorizationError", message: "Not authorized to publish" },
        Throttled: { status: 429, code: "Throttled", message: "Rate exceeded" },
        InternalError: { status: 500, code: "InternalError", message: "Internal error" },
    },
} as const satisfies Record<string, Record<string, AwsError>>;

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export async function startAwsApiServer(): Promise<AwsApiServer> {
    let jobCounter = 0;
    const state: AwsApiServer = {
        endpoint: "",
        submittedJobs: [],
        terminatedJobs: [],
        published: [],
        computeEnvironments: new Map(),
        spotPrices: [],
        defaultMaxvCpus: 16,
        calls: [],
        failNext: (operation, error, times = 1) => {
            for (let i = 0; i < times; i++) faults.push({ operation, error });
        },
        clearFaults: () => void faults.splice(0),
        close: () => Promise.resolve(),
    };
    const faults: { operation: AwsOperation; error: AwsError }[] = [];
    /** The queued fault for `operation`, taken off the queue, if any. */
    const takeFault = (operation: AwsOperation) => {
        const i = faults.findIndex((f) => f.operation === operation);
        return i < 0 ? undefined : faults.splice(i, 1)[0].error;
    };
    const ce = (arn: string): ComputeEnvironmentState => {
        let c = state.computeEnvironments.get(arn);
        if (!c) state.computeEnvironments.set(arn, (c = { arn, maxvCpus: state.defaultMaxvCpus, tags: {} }));
        return c;
    };
    const nameOf = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = Buffer.concat(chunks).toString("utf8");
        const url = new URL(req.url ?? "/", "http://localhost");
        const json = (status: number, doc: unknown) => {
            res.writeHead(status, { "content-type": "application/json", "x-amzn-requestid": "req-local" });
            res.end(JSON.stringify(doc));
        };
        const sendXml = (doc: string) => {
            res.writeHead(200, { "content-type": "text/xml" });
            res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${doc}`);
        };

        // ---- AWS Batch (REST-JSON) -------------------------------------------------------------
        if (url.pathname.startsWith("/v1/")) {
            // Each operation's body is its SDK input, serialized as REST-JSON (same field names).
            const input: unknown = body ? JSON.parse(body) : {};
            const operation = batchOperation(req.method ?? "", url.pathname);
            const fault = operation && takeFault(operation);
            if (fault) {
                state.calls.push(operation);
                // REST-JSON errors name their type in X-Amzn-ErrorType and carry `message` in the body
                // (https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html, "Operation error serialization").
                res.writeHead(fault.status, {
                    "content-type": "application/json",
                    "x-amzn-errortype": fault.code,
                    "x-amzn-requestid": "req-local",
                });
                return res.end(JSON.stringify({ message: fault.message }));
            }
            if (req.method === "POST" && url.pathname === "/v1/submitjob") {
                const job = input as SubmitJobCommandInput;
                state.calls.push("batch.SubmitJob");
                state.submittedJobs.push(job);
                const jobId = `local-job-${++jobCounter}`;
                return json(200, {
                    jobArn: `arn:aws:batch:us-east-1:123456789012:job/${jobId}`,
                    jobName: job.jobName,
                    jobId,
                });
            }
            if (req.method === "POST" && url.pathname === "/v1/terminatejob") {
                state.calls.push("batch.TerminateJob");
                state.terminatedJobs.push(input as TerminateJobCommandInput);
                return json(200, {});
            }
            if (req.method === "POST" && url.pathname === "/v1/describecomputeenvironments") {
                state.calls.push("batch.DescribeComputeEnvironments");
                const wanted = (input as DescribeComputeEnvironmentsCommandInput).computeEnvironments ?? [];
                return json(200, {
                    computeEnvironments: wanted.map((arn) => {
                        const c = ce(arn);
                        return {
                            computeEnvironmentName: nameOf(arn),
                            computeEnvironmentArn: arn,
                            state: "ENABLED",
                            status: "VALID",
                            type: "MANAGED",
                            tags: c.tags,
                            computeResources: { type: "SPOT", minvCpus: 0, maxvCpus: c.maxvCpus },
                        };
                    }),
                });
            }
            if (req.method === "POST" && url.pathname === "/v1/updatecomputeenvironment") {
                state.calls.push("batch.UpdateComputeEnvironment");
                const update = input as UpdateComputeEnvironmentCommandInput;
                const c = ce(update.computeEnvironment!);
                if (update.computeResources?.maxvCpus !== undefined) c.maxvCpus = update.computeResources.maxvCpus;
                return json(200, { computeEnvironmentName: nameOf(c.arn), computeEnvironmentArn: c.arn });
            }
            if (url.pathname.startsWith("/v1/tags/")) {
                const arn = decodeURIComponent(url.pathname.slice("/v1/tags/".length));
                const c = ce(arn);
                if (req.method === "POST") {
                    state.calls.push("batch.TagResource");
                    Object.assign(c.tags, (input as TagResourceCommandInput).tags ?? {});
                    return json(200, {});
                }
                if (req.method === "DELETE") {
                    state.calls.push("batch.UntagResource");
                    for (const k of url.searchParams.getAll("tagKeys")) delete c.tags[k];
                    return json(200, {});
                }
            }
            return json(400, { __type: "ClientException", message: `unsupported ${req.method} ${url.pathname}` });
        }

        // ---- EC2 and SNS (query protocols, XML answers) ------------------------------------------
        const form = new URLSearchParams(body);
        const action = form.get("Action");
        const queryFault =
            action === "DescribeSpotPriceHistory"
                ? takeFault("ec2.DescribeSpotPriceHistory")
                : action === "Publish"
                  ? takeFault("sns.Publish")
                  : undefined;
        if (queryFault) {
            state.calls.push(action === "Publish" ? "sns.Publish" : "ec2.DescribeSpotPriceHistory");
            res.writeHead(queryFault.status, { "content-type": "text/xml" });
            // EC2's error document (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html,
            // "Example error response") differs from the AWS query protocol's, which SNS sends
            // (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html, "Operation error serialization").
            return res.end(
                action === "Publish"
                    ? `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${queryFault.code}</Code><Message>${xml(queryFault.message)}</Message></Error><RequestId>req-local</RequestId></ErrorResponse>`
                    : `<Response><Errors><Error><Code>${queryFault.code}</Code><Message>${xml(queryFault.message)}</Message></Error></Errors><RequestID>req-local</RequestID></Response>`,
            );
        }
        if (action === "DescribeSpotPriceHistory") {
            state.calls.push("ec2.DescribeSpotPriceHistory");
            const types = [...form.entries()].filter(([k]) => k.startsWith("InstanceType.")).map(([, v]) => v);
            const items = state.spotPrices
                .filter((p) => types.length === 0 || types.includes(p.instanceType))
                .map(
                    (p) =>
                        `<item><availabilityZone>${p.availabilityZone}</availabilityZone><instanceType>${p.instanceType}</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${p.price.toFixed(6)}</spotPrice><timestamp>${p.timestamp.toISOString()}</timestamp></item>`,
                )
                .join("");
            return sendXml(
                `<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-local</requestId><spotPriceHistorySet>${items}</spotPriceHistorySet><nextToken></nextToken></DescribeSpotPriceHistoryResponse>`,
            );
        }
        if (action === "Publish") {
            state.calls.push("sns.Publish");
            state.published.push({
                topicArn: form.get("TopicArn") ?? "",
                subject: form.get("Subject") ?? undefined,
                message: form.get("Message") ?? "",
            });
            return sendXml(
                `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>msg-${state.published.length}</MessageId></PublishResult><ResponseMetadata><RequestId>req-local</RequestId></ResponseMetadata></PublishResponse>`,
            );
        }
        res.writeHead(400, { "content-type": "text/xml" });
        res.end(
            `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${xml(`unsupported action ${action}`)}</Message></Error></ErrorResponse>`,
        );
    };
    // A handler that throws surfaces as an unhandled rejection, which fails the test run.
    const server = http.createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return Object.assign(state, {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    });
}

const BATCH_PATHS: Readonly<Record<string, AwsOperation>> = {
    "/v1/submitjob": "batch.SubmitJob",
    "/v1/terminatejob": "batch.TerminateJob",
    "/v1/describecomputeenvironments": "batch.DescribeComputeEnvironments",
    "/v1/updatecomputeenvironment": "batch.UpdateComputeEnvironment",
};

function batchOperation(method: string, pathname: string): AwsOperation | undefined {
    if (pathname.startsWith("/v1/tags/"))
        return method === "POST" ? "batch.TagResource" : method === "DELETE" ? "batch.UntagResource" : undefined;
    return BATCH_PATHS[pathname];
}
