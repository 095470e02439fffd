/**
 * Runs the CrossGuard pack the way the Pulumi CLI does, without the CLI: the Node.js language
 * host spawns `node <@pulumi/pulumi/cmd/run-policy-pack> <engine> <pack dir>` with the pack
 * directory as working directory (pulumi-language-nodejs RunPlugin); the pack type-checks
 * itself with ts-node, serves the Analyzer gRPC service and prints its port. This module plays
 * the engine: it calls Analyze (per resource, with inputs) and AnalyzeStack (all resources, with
 * property dependencies), encoding unknown values with the engine's sentinel.
 */
import type * as GrpcJs from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import type * as EmptyPb from "google-protobuf/google/protobuf/empty_pb";
import type * as StructPb from "google-protobuf/google/protobuf/struct_pb";
import { createRequire } from "module";
import * as path from "path";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { PlanResource, UNKNOWN } from "../../policy/lib/resource";

export const ROOT = path.resolve(__dirname, "..", "..");
export const POLICY_DIR = path.join(ROOT, "policy");

// The generated gRPC code and its runtime must be the copies @pulumi/pulumi itself loads.
const requireFromPulumi = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc = requireFromPulumi("@grpc/grpc-js") as typeof GrpcJs;
const structPb = requireFromPulumi("google-protobuf/google/protobuf/struct_pb") as typeof StructPb;
const emptyPb = requireFromPulumi("google-protobuf/google/protobuf/empty_pb") as typeof EmptyPb;

/** What the engine sends for a value it cannot know during preview. */
export const ENGINE_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface PackDiagnostic {
    readonly policy: string;
    readonly message: string;
    readonly urn: string;
    readonly level: "advisory" | "mandatory" | "disabled" | "remediate";
}

const LEVELS = ["advisory", "mandatory", "disabled", "remediate"] as const;

function toStruct(inputs: Readonly<Record<string, unknown>>): StructPb.Struct {
    const wire = JSON.stringify(inputs, (_k, v: unknown) => (v === UNKNOWN ? ENGINE_UNKNOWN : v));
    return structPb.Struct.fromJavaScript(JSON.parse(wire) as Record<string, StructPb.JavaScriptValue>);
}

function options(r: PlanResource): analyzerPb.AnalyzerResourceOptions {
    const o = new analyzerPb.AnalyzerResourceOptions();
    if (r.parent) o.setParent(r.parent);
    return o;
}

export class PackProcess {
    private constructor(
        private readonly child: ChildProcess,
        private readonly client: analyzerRpc.AnalyzerClient,
        readonly stderr: () => string,
    ) {}

    /** Starts the pack from `policy/` and waits until it serves (ts-node type-checks it first). */
    static async start(): Promise<PackProcess> {
        const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICY_DIR] });
        const child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:1", POLICY_DIR], {
            cwd: POLICY_DIR,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const port = await new Promise<number>((resolve, reject) => {
            child.stdout.on("data", (d: Buffer) => {
                stdout += d.toString();
                const m = /^(\d+)\s*$/m.exec(stdout);
                if (m) resolve(Number(m[1]));
            });
            child.on("exit", (code: number | null) =>
                reject(new Error(`policy pack exited with ${code} before serving:\n${stdout}\n${stderr}`)),
            );
        });
        const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        return new PackProcess(child, client, () => stderr);
    }

    /** One unary call as a promise: `start` issues it with the callback it is given. */
    private static unary<Resp>(
        start: (callback: (err: GrpcJs.ServiceError | null, resp: Resp) => void) => unknown,
    ): Promise<Resp> {
        return new Promise((resolve, reject) => start((err, resp) => (err ? reject(err) : resolve(resp))));
    }

    private static diagnostics(resp: analyzerPb.AnalyzeResponse): PackDiagnostic[] {
        // CrossGuard prefixes each message with the policy description and a newline.
        return resp.getDiagnosticsList().map((d) => ({
            policy: d.getPolicyname(),
            message: d.getMessage().startsWith(`${d.getDescription()}\n`)
                ? d.getMessage().slice(d.getDescription().length + 1)
                : d.getMessage(),
            urn: d.getUrn(),
            level: LEVELS[d.getEnforcementlevel()],
        }));
    }

    /** The pack's name, version and policies with their enforcement levels. */
    async info(): Promise<{
        name: string;
        version: string;
        policies: { name: string; level: string; description: string }[];
    }> {
        const info = await PackProcess.unary<analyzerPb.AnalyzerInfo>((cb) =>
            this.client.getAnalyzerInfo(new emptyPb.Empty(), cb),
        );
        return {
            name: info.getName(),
            version: info.getVersion(),
            policies: info.getPoliciesList().map((p) => ({
                name: p.getName(),
                level: LEVELS[p.getEnforcementlevel()],
                description: p.getDescription(),
            })),
        };
    }

    /** Analyze: one resource's inputs, as during preview/update of that resource. */
    async analyze(r: PlanResource): Promise<PackDiagnostic[]> {
        const req = new analyzerPb.AnalyzeRequest();
        req.setType(r.type);
        req.setUrn(r.urn);
        req.setName(r.name);
        req.setProperties(toStruct(r.inputs));
        req.setOptions(options(r));
        const resp = await PackProcess.unary<analyzerPb.AnalyzeResponse>((cb) => this.client.analyze(req, cb));
        return PackProcess.diagnostics(resp).map((d) => ({ ...d, urn: d.urn || r.urn }));
    }

    /** AnalyzeStack: every resource with parents and property dependencies, as at the end of a preview. */
    async analyzeStack(resources: readonly PlanResource[]): Promise<PackDiagnostic[]> {
        const req = new analyzerPb.AnalyzeStackRequest();
        for (const r of resources) {
            const ar = new analyzerPb.AnalyzerResource();
            ar.setType(r.type);
            ar.setUrn(r.urn);
            ar.setName(r.name);
            ar.setProperties(toStruct(r.inputs));
            ar.setOptions(options(r));
            if (r.parent) ar.setParent(r.parent);
            for (const [key, urns] of Object.entries(r.propertyDependencies ?? {})) {
                const deps = new analyzerPb.AnalyzerPropertyDependencies();
                deps.setUrnsList([...urns]);
                ar.getPropertydependenciesMap().set(key, deps);
            }
            req.addResources(ar);
        }
        const resp = await PackProcess.unary<analyzerPb.AnalyzeResponse>((cb) => this.client.analyzeStack(req, cb));
        return PackProcess.diagnostics(resp);
    }

    /** Both phases over a resource list, as one preview would run them. */
    async preview(resources: readonly PlanResource[]): Promise<PackDiagnostic[]> {
        const perResource = await Promise.all(resources.map((r) => this.analyze(r)));
        return [...perResource.flat(), ...(await this.analyzeStack(resources))];
    }

    stop(): void {
        this.client.close();
        this.child.kill();
    }
}
