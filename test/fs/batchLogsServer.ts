/**
 * A loopback stand-in for the two read calls `npm run fs -- logs` makes beside the form-sender API:
 * AWS Batch DescribeJobs (REST-JSON, POST /v1/describejobs,
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_DescribeJobs.html) and CloudWatch Logs
 * GetLogEvents (JSON 1.1, X-Amz-Target Logs_20140328.GetLogEvents,
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html: at the
 * end of the stream the same nextForwardToken comes back). Pages hold two events, so paging is exercised.
 */
import * as http from "http";
import { AddressInfo } from "net";

export interface JobLogs {
    /** Log group from the job definition's awslogs options. */
    readonly group: string;
    /** One log stream per attempt (undefined: the attempt never started a container). */
    readonly attempts: (string | undefined)[];
}

export interface BatchLogsServer {
    readonly url: string;
    readonly jobs: Map<string, JobLogs>;
    /** `group/stream` → events. */
    readonly streams: Map<string, { timestamp: number; message: string }[]>;
    /** Authorization headers received, to check who signed. */
    readonly authorizations: string[];
    close(): Promise<void>;
}

export async function startBatchLogsServer(): Promise<BatchLogsServer> {
    const jobs = new Map<string, JobLogs>();
    const streams = new Map<string, { timestamp: number; message: string }[]>();
    const authorizations: string[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString("utf8")));
        req.on("end", () => {
            authorizations.push(String(req.headers.authorization ?? ""));
            const send = (status: number, value: unknown, type = "application/json") => {
                res.writeHead(status, { "content-type": type });
                res.end(JSON.stringify(value));
            };
            if (req.method === "POST" && req.url === "/v1/describejobs") {
                const ids = (JSON.parse(body) as { jobs: string[] }).jobs;
                return send(200, {
                    jobs: ids.flatMap((id) => {
                        const j = jobs.get(id);
                        if (!j) return [];
                        return [
                            {
                                jobId: id,
                                jobName: `job-${id}`,
                                jobQueue: "stg-fs-spot",
                                status: "SUCCEEDED",
                                jobDefinition: "fs-stg-runner:1",
                                startedAt: 0,
                                attempts: j.attempts.map((s) => ({ container: s ? { logStreamName: s } : {} })),
                                container: {
                                    logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": j.group } },
                                },
                            },
                        ];
                    }),
                });
            }
            if (req.method === "POST" && req.headers["x-amz-target"] === "Logs_20140328.GetLogEvents") {
                const q = JSON.parse(body) as { logGroupName: string; logStreamName: string; nextToken?: string };
                const events = streams.get(`${q.logGroupName}/${q.logStreamName}`);
                if (!events)
                    return send(
                        400,
                        { __type: "ResourceNotFoundException", message: "The specified log stream does not exist." },
                        "application/x-amz-json-1.1",
                    );
                const from = q.nextToken ? Number(q.nextToken.slice(2)) : 0;
                const page = events.slice(from, from + 2);
                const next = `f/${from + page.length}`;
                return send(
                    200,
                    {
                        events: page.map((e) => ({ ...e, ingestionTime: e.timestamp })),
                        nextForwardToken: next,
                        nextBackwardToken: "b/0",
                    },
                    "application/x-amz-json-1.1",
                );
            }
            send(404, { message: `no stand-in for ${req.method} ${req.url}` });
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        jobs,
        streams,
        authorizations,
        close: () => new Promise<void>((r) => server.close(() => r())),
    };
}
