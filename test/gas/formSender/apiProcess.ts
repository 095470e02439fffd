/**
 * Runs the loopback form-sender API (test/support/formSenderApi.ts) in its own process. The GAS tests
 * need this: UrlFetchApp is synchronous, so its stand-in blocks the test process while a request is in
 * flight, and everything that answers it (API front, dispatcher, RPC server, S3 and Batch stand-ins)
 * must live elsewhere. PostgreSQL is a process of its own already; the test reads it directly.
 *
 * Prints one JSON line: { baseUrl, connectionString, control }. The control server answers
 * GET /state (Batch calls and front requests) and POST /batch-event (plays a Batch state change).
 */
import * as http from "http";
import { AddressInfo } from "net";
import type { BatchJobDetail } from "../../../functions/formSender/batchEvents";
import { startFormSenderApi } from "../../support/formSenderApi";

async function main(): Promise<void> {
    const api = await startFormSenderApi();
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
                    };
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
    const stop = () => void api.close().finally(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.stdout.write(
        JSON.stringify({
            baseUrl: api.baseUrl,
            connectionString: api.sb.connectionString,
            control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
        }) + "\n",
    );
}

main().catch((e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(1);
});
