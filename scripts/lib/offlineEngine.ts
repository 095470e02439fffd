/**
 * Runs the real Pulumi program (or any resource-creating function) under Pulumi's mock
 * engine: no CLI, no credentials, no network. Every registered resource is recorded with its
 * parent, explicit provider and inputs, exactly as the engine would receive them. Used by the
 * offline plan (`npm run plan`), the cost report and the test harness.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { ProjectFile, readStackValues, validateAndApplyProjectConfig } from "./stackConfig";

export const ROOT = path.resolve(__dirname, "..", "..");

/** @pulumi/pulumi's package.json, as far as it is read here. */
interface PulumiPackage {
    version: string;
    engines?: { node?: string };
}

/**
 * A warning when this Node.js is older than @pulumi/pulumi requires (its `engines.node`, `>=22` for 3.270).
 * The offline plan runs anyway (see the polyfill below); `pulumi preview` and `pulumi up` do not: the CLI runs the
 * program on this same Node, and packaging a CallbackFunction calls `fs.promises.glob`, which Node 20 lacks.
 */
export function nodeVersionWarning(version: string = process.version): string | undefined {
    const pkg = JSON.parse(fs.readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8")) as PulumiPackage;
    const range = pkg.engines?.node ?? "";
    const minimum = /^>=\s*v?(\d+)/.exec(range);
    const major = Number(/^v?(\d+)/.exec(version)?.[1]);
    if (!minimum || major >= Number(minimum[1])) return undefined;
    return (
        `Node ${version} is older than @pulumi/pulumi ${pkg.version} requires (engines: node ${range}). This plan ` +
        "stands in for fs.promises.glob, which Node 22 added, but `pulumi preview` and `pulumi up` will fail on this " +
        "Node (packaging each CallbackFunction calls it, since package.json declares workspaces): install Node " +
        `${minimum[1]} or later.`
    );
}

/**
 * Pulumi's code-path computation (CallbackFunction packaging) resolves npm workspaces with
 * `fs.promises.glob`, which Node gains only in v22. On Node 20 this supplies the part it uses:
 * workspace entries that are plain paths or end in `/*`. The offline plan says so loudly
 * ({@link nodeVersionWarning}): the real program cannot run on such a Node.
 */
const fsPromises = fs.promises as unknown as { glob?: (pattern: string) => AsyncIterable<string> };
if (typeof fsPromises.glob !== "function") {
    /** `fs.existsSync` without blocking: true when the path can be accessed at all. */
    const exists = (p: string) =>
        fs.promises.access(p).then(
            () => true,
            () => false,
        );
    fsPromises.glob = async function* (pattern: string) {
        const parts = pattern.split("/");
        const star = parts.indexOf("*");
        if (star < 0) {
            if (await exists(pattern)) yield pattern;
            return;
        }
        const dir = parts.slice(0, star).join("/") || "/";
        const rest = parts.slice(star + 1).join("/");
        if (!(await exists(dir))) return;
        for (const entry of await fs.promises.readdir(dir)) {
            const candidate = path.join(dir, entry, rest);
            if (await exists(candidate)) yield candidate;
        }
    };
}
export const PROJECT = "ops-platform";
export const SECRET_PLACEHOLDER = "[secret]";
/** Account id the mocks put in every ARN. */
export const MOCK_ACCOUNT = "123456789012";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** An alias as the program registered it: an old URN, or the parts of the old URN that differ. */
export interface PlannedAlias {
    urn?: string;
    name?: string;
    type?: string;
    stack?: string;
    project?: string;
    /** The old parent's URN, when the alias names a parent other than the resource's own. */
    parentUrn?: string;
    /** The resource had no parent. */
    noParent?: boolean;
}

/** One registered resource, in the JSON plan's shape (DESIGN.md "Offline plan"). */
export interface PlannedResource {
    urn: string;
    type: string;
    name: string;
    /** URN of the parent resource, or null for the stack itself. */
    parent: string | null;
    /** URN of the explicit provider, or null when the default provider is used. */
    provider: string | null;
    custom: boolean;
    inputs: Record<string, unknown>;
    /** The resource options the engine receives, from the RegisterResourceRequest. */
    protect: boolean;
    /**
     * URNs the resource depends on beyond those its inputs reference: what `dependsOn` adds (a component
     * stands for the resources below it). A resource both listed and referenced by an input shows only there.
     */
    dependsOn: string[];
    ignoreChanges: string[];
    deleteBeforeReplace: boolean;
    replaceOnChanges: string[];
    retainOnDelete: boolean;
    aliases: PlannedAlias[];
}

export interface OfflineRun {
    project: string;
    stack: string;
    resources: PlannedResource[];
    outputs: Record<string, unknown>;
    /**
     * URN → URNs it explicitly depends on (`dependsOn` and inputs' resources), for ordering tests;
     * not part of the JSON plan.
     */
    dependencies?: Record<string, string[]>;
    /**
     * What the plan shows although `pulumi preview`/`up` would fail on it (an old Node, a missing build
     * context); not part of the JSON plan, printed on stderr with `--json`.
     */
    warnings?: string[];
}

/** Thrown when a stack name has no Pulumi.<stack>.yaml. */
export class UnknownStackError extends Error {}

/** Stacks that have a `Pulumi.<stack>.yaml` next to Pulumi.yaml. */
export function listStacks(): string[] {
    return fs
        .readdirSync(ROOT)
        .map((f) => /^Pulumi\.([\w-]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

export interface StackFileConfig {
    /**
     * Fully qualified keys (`ops-platform:environment`, `aws:region`) → the string Pulumi hands the program: the
     * stack file's values, and Pulumi.yaml's declared defaults for the keys it leaves out.
     */
    config: Record<string, string>;
    /** Keys set with `--secret`; their ciphertext cannot be decrypted offline, so they are left unset. */
    encryptedKeys: string[];
}

/**
 * Reads `Pulumi.<stack>.yaml` as the Pulumi CLI does before it starts the program: validated against Pulumi.yaml's
 * declarations, with their defaults applied (scripts/lib/stackConfig.ts); throws its StackConfigError where the CLI
 * stops. Returns the flat string map the Pulumi runtime passes to a program.
 */
export function readStackFile(stack: string): StackFileConfig {
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const shown = path.relative(process.cwd(), file) || file;
        throw new UnknownStackError(
            `unknown stack '${stack}': ${shown} does not exist (stacks: ${listStacks().join(", ")})`,
        );
    }
    const project = (parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) ?? {}) as ProjectFile;
    const values = readStackValues(fs.readFileSync(file, "utf8"), path.basename(file));
    const config: Record<string, string> = {};
    const encryptedKeys: string[] = [];
    for (const [key, value] of validateAndApplyProjectConfig(stack, project, values)) {
        if (value.secure) encryptedKeys.push(key);
        else config[key] = value.text;
    }
    return { config, encryptedKeys };
}

export interface RunOptions {
    stack: string;
    /** Fully qualified config keys → raw string values. */
    config: Record<string, string>;
    /** Fully qualified keys whose values are secrets. */
    secretKeys?: string[];
}

/** An alias in a RegisterResourceRequest (@pulumi/pulumi/proto/alias_pb Alias). */
interface AliasMessage {
    getUrn(): string;
    hasSpec(): boolean;
    getSpec():
        | {
              getName(): string;
              getType(): string;
              getStack(): string;
              getProject(): string;
              getParenturn(): string;
              getNoparent(): boolean;
          }
        | undefined;
}

/** What the recorder reads from a RegisterResourceRequest (a protobuf message of @pulumi/pulumi/proto). */
interface RegisterResourceRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProvider(): string;
    getCustom(): boolean;
    getDependenciesList(): string[];
    /** Input property → the URNs its value depends on. */
    getPropertydependenciesMap(): { forEach(fn: (deps: { getUrnsList(): string[] }, key: string) => void): void };
    getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
    getProtect(): boolean | undefined;
    getIgnorechangesList(): string[];
    getDeletebeforereplace(): boolean;
    getReplaceonchangesList(): string[];
    getRetainondelete(): boolean | undefined;
    getAliasesList(): AliasMessage[];
}

/** The options part of a planned resource, read from the request. */
type RegisteredOptions = Pick<
    PlannedResource,
    | "protect"
    | "dependsOn"
    | "ignoreChanges"
    | "deleteBeforeReplace"
    | "replaceOnChanges"
    | "retainOnDelete"
    | "aliases"
>;

/** An alias as the program wrote it: empty parts dropped, and the resource's own parent (the SDK adds it) too. */
function aliasOf(alias: AliasMessage, parent: string): PlannedAlias {
    const spec = alias.hasSpec() ? alias.getSpec() : undefined;
    if (!spec) return { urn: alias.getUrn() };
    const parts: PlannedAlias = {
        name: spec.getName(),
        type: spec.getType(),
        stack: spec.getStack(),
        project: spec.getProject(),
        parentUrn: spec.getParenturn() === parent ? "" : spec.getParenturn(),
        noParent: spec.getNoparent(),
    };
    return Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== "" && v !== false));
}

/** Aliases without repeats (the SDK may send one twice, once with the parent it adds). */
function uniqueAliases(aliases: PlannedAlias[]): PlannedAlias[] {
    const seen = new Set<string>();
    return aliases.filter((a) => {
        const key = JSON.stringify(a);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

/** The resource options of a request, as the engine receives them. */
function registeredOptions(req: RegisterResourceRequest): RegisteredOptions {
    const fromInputs = new Set<string>();
    req.getPropertydependenciesMap().forEach((deps) => deps.getUrnsList().forEach((urn) => fromInputs.add(urn)));
    return {
        protect: req.getProtect() === true,
        dependsOn: req.getDependenciesList().filter((urn) => !fromInputs.has(urn)),
        ignoreChanges: req.getIgnorechangesList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        replaceOnChanges: req.getReplaceonchangesList(),
        retainOnDelete: req.getRetainondelete() === true,
        aliases: uniqueAliases(req.getAliasesList().map((a) => aliasOf(a, req.getParent()))),
    };
}

/** What the recorder reads from the mock monitor's answer. */
interface RegisterResourceResponse {
    getUrn(): string;
}

type RegisterResourceCallback = (err: unknown, resp: RegisterResourceResponse | undefined) => void;

/**
 * The resource monitor `setMocks` installs (runtime/mocks.js MockMonitor), through the one
 * method the recorder wraps; `getMonitor()` is typed as the gRPC client it stands in for.
 */
interface MockResourceMonitor {
    registerResource(req: RegisterResourceRequest, callback: RegisterResourceCallback): unknown;
}

/** Runs `program` (a Pulumi program function returning the stack outputs) under mocks. */
export async function runOffline(program: () => unknown, opts: RunOptions): Promise<OfflineRun> {
    // Exported by @pulumi/pulumi's runtime/settings.js but left out of its typings.
    const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };

    const resources: PlannedResource[] = [];
    const dependencies: Record<string, string[]> = {};
    const pending: Promise<void>[] = [];
    const regions = new Map<string, string>(); // provider URN → region

    await pulumi.runtime.setMocks(new PlanMocks(regions), PROJECT, opts.stack, false);
    pulumi.runtime.setAllConfig(opts.config, opts.secretKeys ?? []);

    const monitor = pulumi.runtime.getMonitor() as unknown as MockResourceMonitor;
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const type = req.getType();
        const name = req.getName();
        const parent = req.getParent();
        const providerRef = req.getProvider();
        const custom = req.getCustom();
        const dependsOn = req.getDependenciesList();
        const options = registeredOptions(req);
        const rawInputs = pulumi.runtime.deserializeProperties(req.getObject(), true) as Record<string, unknown>;
        original(req, (err, resp) => {
            if (!err && resp) {
                const urn = resp.getUrn();
                if (type === "pulumi:providers:aws" && typeof rawInputs.region === "string")
                    regions.set(urn, rawInputs.region);
                const entry: PlannedResource = {
                    urn,
                    type,
                    name,
                    parent: parent || null,
                    provider: providerRef ? providerRef.slice(0, providerRef.lastIndexOf("::")) : null,
                    custom,
                    ...options,
                    inputs: {},
                };
                resources.push(entry);
                dependencies[urn] = dependsOn;
                pending.push(normalize(rawInputs).then((v) => void (entry.inputs = v as Record<string, unknown>)));
            }
            callback(err, resp);
        });
    };

    let raw: unknown;
    let failure: unknown;
    const restoreStacks = plainPulumiTraces();
    const onRejection = (e: unknown) => (failure ??= e);
    process.on("unhandledRejection", onRejection);
    try {
        await pulumi.runtime.runInPulumiStack(async () => {
            try {
                raw = await program();
            } catch (e) {
                failure ??= e;
                throw e;
            }
            return raw;
        });
        await runtime.waitForRPCs();
    } catch (e) {
        failure ??= e;
    } finally {
        process.off("unhandledRejection", onRejection);
        restoreStacks();
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows exactly what the program threw
    if (failure !== undefined) throw failure;
    await Promise.all(pending);
    const outputs = (await normalize(raw ?? {})) as Record<string, unknown>;
    return { project: PROJECT, stack: opts.stack, resources, outputs, dependencies };
}

/**
 * Stack traces @pulumi/pulumi takes only for itself: every resource constructor
 * (`Resource.callsites`, for the source position sent to the engine) and every internal promise
 * (`debuggablePromise`, kept for leak reports) evaluate `new Error().stack`.
 */
const PULUMI_OWN_TRACES = [
    { file: path.join("@pulumi", "pulumi", "resource.js"), fn: "callsites" },
    { file: path.join("@pulumi", "pulumi", "runtime", "debuggable.js"), fn: "debuggablePromise" },
];

/**
 * Under ts-node each trace goes through source-map-support, and Pulumi's own traces cost ~3 s
 * of a plan for positions the mock engine throws away. While the program runs, those traces —
 * and only those — are formatted as V8 would without source maps; every other error keeps its
 * mapped stack. Returns the function that restores the previous formatter.
 */
function plainPulumiTraces(): () => void {
    // Saved to be put back as it was; source-map-support's formatter does not use `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a hook held, not a method called
    const mapped = Error.prepareStackTrace;
    if (!mapped) return () => undefined;
    Error.prepareStackTrace = (err, frames) => {
        const top = frames[0];
        const own =
            top !== undefined &&
            PULUMI_OWN_TRACES.some((t) => top.getFunctionName() === t.fn && (top.getFileName() ?? "").endsWith(t.file));
        return own
            ? `${String(err)}${frames.map((f) => `\n    at ${callSiteText(f)}`).join("")}`
            : (mapped(err, frames) as unknown);
    };
    return () => void (Error.prepareStackTrace = mapped);
}

/** A stack line as V8 writes it: V8's CallSite has a toString that Node's typings leave out. */
const callSiteText = (site: NodeJS.CallSite): string => (site as NodeJS.CallSite & { toString(): string }).toString();

/**
 * Turns deserialized engine values and program outputs into plain JSON: secrets become
 * "[secret]", Outputs are awaited, resource references become their URN, assets and archives
 * become `{ text }` / `{ path }` / `{ assets }` objects.
 */
async function normalize(value: unknown): Promise<unknown> {
    if (value === null || value === undefined) return value ?? null;
    if (typeof value !== "object") return value;
    if (pulumi.Output.isInstance(value)) {
        const internal = value as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
        const [v, secret] = await Promise.all([internal.promise(), internal.isSecret]);
        return secret ? SECRET_PLACEHOLDER : normalize(v);
    }
    if (Array.isArray(value)) return Promise.all(value.map(normalize));
    const rec = value as Record<string, unknown>;
    if (rec[SIG] === SECRET_SIG) return SECRET_PLACEHOLDER;
    if (pulumi.Resource.isInstance(value)) return normalize(value.urn);
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) {
        const a = value as unknown as {
            text?: Promise<string>;
            path?: Promise<string>;
            uri?: Promise<string>;
            assets?: Promise<Record<string, unknown>>;
        };
        if (a.assets) {
            const assets = await a.assets;
            const out: Record<string, unknown> = {};
            for (const k of Object.keys(assets).sort()) out[k] = await normalize(assets[k]);
            return { assets: out };
        }
        if (a.text) return { text: await a.text };
        if (a.path) return { path: path.relative(ROOT, path.resolve(await a.path)) };
        return { uri: await a.uri };
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(rec)) {
        if (rec[k] === undefined) continue;
        out[k] = await normalize(rec[k]);
    }
    return out;
}

/**
 * The inputs the mocks name resources and build URLs from. The mock engine hands over resolved
 * plain values; these are strings whenever a program sets them.
 */
interface MockedInputs extends Record<string, unknown> {
    name?: string;
    bucket?: string;
    functionName?: string;
    family?: string;
    stateMachineName?: string;
    stageName?: string;
    repositoryUrl?: string;
    computeEnvironmentName?: string;
}

/** Deterministic stand-ins for what AWS would return, so ARNs and URLs in the plan look real. */
class PlanMocks implements pulumi.runtime.Mocks {
    constructor(private readonly regions: Map<string, string>) {}

    private region(provider: string | undefined): string {
        const urn = provider ? provider.slice(0, provider.lastIndexOf("::")) : "";
        return this.regions.get(urn) ?? "us-east-1";
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const region = this.region(args.provider);
        const inputs = args.inputs as MockedInputs;
        const name =
            inputs.name ??
            inputs.bucket ??
            inputs.functionName ??
            inputs.family ??
            inputs.stateMachineName ??
            args.name;
        const id = `${args.name}-id`;
        const [, mod = "", kind = ""] = args.type.split(":");
        const service = mod.split("/")[0];
        const state: Record<string, unknown> = { ...inputs, id };
        const arn = (resource: string, svc = service, reg: string = region) =>
            `arn:aws:${svc}:${reg}:${MOCK_ACCOUNT}:${resource}`;
        switch (args.type) {
            case "aws:iam/role:Role":
                Object.assign(state, { arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}`, name });
                break;
            case "aws:iam/user:User":
                Object.assign(state, { arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/${name}`, name });
                break;
            case "aws:iam/policy:Policy":
                Object.assign(state, { arn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/${name}` });
                break;
            case "aws:iam/instanceProfile:InstanceProfile":
                Object.assign(state, { arn: `arn:aws:iam::${MOCK_ACCOUNT}:instance-profile/${name}` });
                break;
            case "aws:iam/accessKey:AccessKey":
                Object.assign(state, { id: "AKIAMOCKMOCKMOCKMOCK", secret: "mock-secret-access-key" });
                return { id: "AKIAMOCKMOCKMOCKMOCK", state };
            case "aws:s3/bucket:Bucket":
            case "aws:s3/bucketV2:BucketV2":
                Object.assign(state, {
                    bucket: name,
                    arn: `arn:aws:s3:::${name}`,
                    bucketRegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
                });
                return { id: name, state };
            case "aws:sns/topic:Topic":
                Object.assign(state, { arn: arn(name), name });
                return { id: arn(name), state };
            case "aws:sqs/queue:Queue":
                Object.assign(state, {
                    arn: arn(name),
                    url: `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT}/${name}`,
                });
                break;
            case "aws:cloudwatch/logGroup:LogGroup":
                Object.assign(state, { arn: arn(`log-group:${name}`, "logs"), name });
                return { id: name, state };
            case "aws:ecs/taskDefinition:TaskDefinition":
                Object.assign(state, {
                    arn: arn(`task-definition/${name}:1`),
                    arnWithoutRevision: arn(`task-definition/${name}`),
                    revision: 1,
                });
                break;
            case "aws:ecs/cluster:Cluster":
                Object.assign(state, { arn: arn(`cluster/${name}`), name });
                break;
            case "aws:ecs/service:Service":
                Object.assign(state, { name });
                break;
            case "aws:lb/loadBalancer:LoadBalancer":
                Object.assign(state, {
                    arn: arn(`loadbalancer/app/${name}/0123456789abcdef`, "elasticloadbalancing"),
                    arnSuffix: `app/${name}/0123456789abcdef`,
                    dnsName: `${name}-123456789.${region}.elb.amazonaws.com`,
                    zoneId: "Z14GRHDCWA56QT",
                });
                break;
            case "aws:lb/targetGroup:TargetGroup":
                Object.assign(state, {
                    arn: arn(`targetgroup/${name}/0123456789abcdef`, "elasticloadbalancing"),
                    arnSuffix: `targetgroup/${name}/0123456789abcdef`,
                });
                break;
            case "aws:lambda/function:Function":
                Object.assign(state, {
                    arn: arn(`function:${name}`),
                    invokeArn:
                        `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/` +
                        `${arn(`function:${name}`)}/invocations`,
                    name,
                });
                break;
            case "aws:sfn/stateMachine:StateMachine":
                Object.assign(state, { arn: arn(`stateMachine:${name}`, "states"), name });
                break;
            case "aws:secretsmanager/secret:Secret":
                Object.assign(state, { arn: arn(`secret:${name}-AbCdEf`) });
                return { id: arn(`secret:${name}-AbCdEf`), state };
            case "aws:apigateway/restApi:RestApi":
                Object.assign(state, { rootResourceId: "root123", executionArn: arn("a1b2c3d4e5", "execute-api") });
                return { id: "a1b2c3d4e5", state };
            case "aws:apigateway/stage:Stage":
                Object.assign(state, {
                    arn: `arn:aws:apigateway:${region}::/restapis/a1b2c3d4e5/stages/${inputs.stageName}`,
                    invokeUrl: `https://a1b2c3d4e5.execute-api.${region}.amazonaws.com/${inputs.stageName}`,
                    executionArn: `${arn("a1b2c3d4e5", "execute-api")}/${inputs.stageName}`,
                });
                break;
            case "aws:ecr/repository:Repository":
                Object.assign(state, {
                    arn: arn(`repository/${name}`),
                    repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${name}`,
                });
                break;
            case "awsx:ecr:Image":
                Object.assign(state, {
                    imageUri:
                        `${inputs.repositoryUrl ?? `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${args.name}`}` +
                        `@sha256:${"0".repeat(64)}`,
                });
                break;
            case "aws:efs/fileSystem:FileSystem":
                Object.assign(state, { arn: arn(`file-system/fs-0123456789abcdef0`, "elasticfilesystem") });
                return { id: "fs-0123456789abcdef0", state };
            case "aws:efs/accessPoint:AccessPoint":
                Object.assign(state, { arn: arn(`access-point/fsap-0123456789abcdef0`, "elasticfilesystem") });
                return { id: "fsap-0123456789abcdef0", state };
            case "aws:batch/jobQueue:JobQueue":
            case "aws:batch/computeEnvironment:ComputeEnvironment":
            case "aws:batch/jobDefinition:JobDefinition": {
                const kindPath = {
                    JobQueue: "job-queue",
                    ComputeEnvironment: "compute-environment",
                    JobDefinition: "job-definition",
                }[kind] as string;
                const n = inputs.name ?? inputs.computeEnvironmentName ?? args.name;
                Object.assign(state, { arn: arn(`${kindPath}/${n}${kind === "JobDefinition" ? ":1" : ""}`) });
                break;
            }
            default:
                if (!("arn" in state) && service && kind)
                    state.arn = arn(
                        `${kind.toLowerCase()}/${name}`,
                        service === "lb" ? "elasticloadbalancing" : service,
                    );
        }
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const region = this.region(args.provider);
        switch (args.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    accountId: MOCK_ACCOUNT,
                    arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/offline-plan`,
                    userId: "AIDAMOCK",
                    id: MOCK_ACCOUNT,
                };
            case "aws:index/getRegion:getRegion":
                return { name: region, region, id: region };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
            default:
                throw new Error(
                    `offline plan: no mock for data source ${args.token}; ` +
                        "derive the value from resources or config instead",
                );
        }
    }
}
