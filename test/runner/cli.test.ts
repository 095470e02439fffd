/** The one-form CLI exactly as DESIGN.md documents it, run through npm like an operator would. */
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../../containers/runner/src/cli";
import { FIXTURE_ROOT, startFixtureServer, type FixtureServer } from "./fixtureServer";

const ROOT = path.resolve(__dirname, "..", "..");
const CONFIG = path.join(FIXTURE_ROOT, "client_config.json");

function runFill(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(
            "npm",
            ["run", "--silent", "runner:fill", "--", ...args],
            { cwd: ROOT, timeout: 60_000 },
            (err, stdout, stderr) => {
                resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
            },
        );
    });
}

/** A client config file, parsed: the tests only edit fields of its `client` section. */
interface ClientConfigJson {
    readonly client: Record<string, unknown>;
}

function oneJsonLine(stdout: string): Record<string, unknown> {
    const lines = stdout.split("\n").filter((l) => l !== "");
    assert.strictEqual(lines.length, 1, `expected one line on stdout, got: ${stdout}`);
    const parsed = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(parsed), ["status", "submitted", "fields", "detail"]);
    return parsed;
}

describe("runner:fill CLI (npm run --silent runner:fill -- --url … --config …)", function () {
    this.timeout(90_000);
    let server: FixtureServer;
    before(async () => {
        server = await startFixtureServer();
    });
    after(async () => server?.close());

    it("sends one form and prints one JSON line with status sent and the mapped fields", async () => {
        const res = await runFill(["--url", server.url("02-table-confirm"), "--config", CONFIG]);
        assert.strictEqual(res.code, 0, res.stderr);
        const out = oneJsonLine(res.stdout);
        assert.strictEqual(out.status, "sent", String(out.detail));
        assert.strictEqual(out.submitted, true);
        const kinds = (out.fields as Array<{ kind: string }>).map((f) => f.kind);
        assert.ok(kinds.includes("name.last") && kinds.includes("phone.2"), kinds.join(","));
        assert.strictEqual(server.sent("02-table-confirm").length, 1);
        assert.strictEqual(server.sent("02-table-confirm")[0].fields.kaisha, "株式会社テストコネクト");
    });

    it("--dry-run fills without sending anything and says dry_run", async () => {
        const before = server.submissions.length;
        const res = await runFill(["--url", server.url("01-basic-labels"), "--config", CONFIG, "--dry-run"]);
        assert.strictEqual(res.code, 0, res.stderr);
        const out = oneJsonLine(res.stdout);
        assert.strictEqual(out.status, "dry_run");
        assert.strictEqual(out.submitted, false);
        assert.strictEqual(server.submissions.length, before);
    });

    /** The same entry function without npm and ts-node start-up, for the remaining cases. */
    async function runInProcess(args: string[]): Promise<{ code: number; stdout: string }> {
        let stdout = "";
        const code = await runCli(args, (s) => (stdout += `${s}\n`));
        return { code, stdout };
    }

    it("reports skipped_captcha for a reCAPTCHA form", async () => {
        const res = await runInProcess(["--url", server.url("09-recaptcha"), "--config", CONFIG]);
        assert.strictEqual(res.code, 0);
        const out = oneJsonLine(res.stdout);
        assert.strictEqual(out.status, "skipped_captcha");
        assert.strictEqual(out.submitted, false);
    });

    it("rejects an invalid client config with exit 65 and names the field in one JSON line", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-cli-"));
        const bad = JSON.parse(fs.readFileSync(CONFIG, "utf8")) as ClientConfigJson;
        delete bad.client.email;
        fs.writeFileSync(path.join(dir, "bad.json"), JSON.stringify(bad));
        const res = await runInProcess([
            "--url",
            server.url("01-basic-labels"),
            "--config",
            path.join(dir, "bad.json"),
        ]);
        assert.strictEqual(res.code, 65);
        const out = oneJsonLine(res.stdout);
        assert.strictEqual(out.status, "failed");
        assert.match(String(out.detail), /\/client\/email is required/);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("rejects a missing --url with exit 64 and the usage", async () => {
        const res = await runInProcess(["--config", CONFIG]);
        assert.strictEqual(res.code, 64);
        assert.match(String(oneJsonLine(res.stdout).detail), /--url is required; usage: runner:fill/);
    });
});
