/**
 * Runs the loopback form-sender API (test/support/formSenderApi.ts) in its own process. The GAS tests
 * need this: UrlFetchApp is synchronous, so its stand-in blocks the test process while a request is in
 * flight, and everything that answers it (API front, dispatcher, RPC server, S3 and Batch stand-ins)
 * must live elsewhere. PostgreSQL is a process of its own already; the test reads it directly.
 *
 * Prints one JSON line: { baseUrl, connectionString, control }. The control server answers
 * GET /state (Batch calls and front requests) and POST /batch-event (plays a Batch state change).
 *
 * baseUrl is a pass-through in front of the API that can answer a submit for a given targeting itself,
 * as API Gateway does when it throttles (429 `{"message":"Too Many Requests"}`) or times out (504), or as
 * the dispatcher does when it fails (its `{ error: { …, retryable } }` body). POST /faults replaces the
 * list of such answers: `[{ targeting_id, status, body, times, forward }]`; `forward: true` sends the
 * request on first and replaces the answer (the API acted, the client never heard). GET /state lists
 * every submit the front saw (`front`: targeting, status, faulted).
 */
import * as http from "http";
import { AddressInfo } from "net";
import type { BatchJobDetail } from "../../../functions/formSender/batchEvents";
import { startFormSenderApi } from "../../support/formSenderApi";

interface Fault {
    targeting_id: string;
    status: number;
    body: string;
    times: number;
    forward?: boolean;
}

async function main(): Promise<void> {
    const api = await startFormSenderApi();
    const target = new URL(api.baseUrl);
    let faults: Fault[] = [];
    const front: { targeting_id: string | null; status: number; faulted: boolean }[] = [];
    const forward = (req: http.IncomingMessage, body: string) =>
        new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
            const out = http.request(
                { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
                (res) => {
                    let text = "";
                    res.setEncoding("utf8");
                    res.on("data", (c: string) => (text += c));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
                },
            );
            out.on("error", reject);
            out.end(body);
        });
    const frontServer = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString("utf8")));
        req.on("end", () => {
            void (async () => {
                let targeting: string | null = null;
                if (req.method === "POST" && /\/form-sender\/submit$/.test(req.url ?? "")) {
                    try {
                        targeting = String((JSON.parse(body) as { targeting_id?: unknown }).targeting_id);
                    } catch {
                        targeting = null;
                    }
                }
                const fault = faults.find((f) => f.targeting_id === targeting && f.times > 0);
                if (fault) fault.times--;
                let answer: { status: number; body: string; type: string };
                if (!fault || fault.forward) {
                    const r = await forward(req, body);
                    answer = { status: r.status, body: r.body, type: String(r.headers["content-type"] ?? "") };
                }
                if (fault) answer = { status: fault.status, body: fault.body, type: "application/json" };
                if (targeting !== null)
                    front.push({ targeting_id: targeting, status: answer!.status, faulted: !!fault });
                res.writeHead(answer!.status, { "content-type": answer!.type, connection: "close" });
                res.end(answer!.body);
            })().catch((e: unknown) => {
                res.writeHead(502, { "content-type": "text/plain", connection: "close" });
                res.end(String(e));
            });
        });
    });
    await new Promise<void>((r) => frontServer.listen(0, "127.0.0.1", r));
    const control = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString("utf8")));
        req.on("end", () => {
            void (async () => {
                if (req.url === "/state") {
                    return {
                        submittedJobs: api.aws.submittedJobs,
                        terminatedJobs: api.aws.terminatedJobs,
                        requests: api.requests,
                        front,
                    };
                }
                if (req.url === "/faults") {
                    faults = JSON.parse(body) as Fault[];
                    return faults;
                }
                if (req.url === "/batch-event") return await api.batchEvent(JSON.parse(body) as BatchJobDetail);
                throw new Error(`no control route ${req.url}`);
            })().then(
                (out) => {
                    // No keep-alive: the test process blocks in UrlFetchApp calls for longer than a
                    // keep-alive timeout, and a reused socket the server closed meanwhile would fail.
                    res.writeHead(200, { "content-type": "application/json", connection: "close" });
                    res.end(JSON.stringify(out ?? null));
                },
                (e: unknown) => {
                    res.writeHead(500, { "content-type": "application/json", connection: "close" });
                    res.end(JSON.stringify({ error: String(e) }));
                },
            );
        });
    });
    await new Promise<void>((r) => control.listen(0, "127.0.0.1", r));
    const stop = () => {
        frontServer.close();
        void api.close().finally(() => process.exit(0));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.stdout.write(
        JSON.stringify({
            baseUrl: `http://127.0.0.1:${(frontServer.address() as AddressInfo).port}${target.pathname}`,
            connectionString: api.sb.connectionString,
            control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
        }) + "\n",
    );
}

main().catch((e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(1);
});
