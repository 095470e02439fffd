/**
 * Test harness: runs the whole program for a stack (its Pulumi.<stack>.yaml plus overrides), or
 * one component for hand-written args, under Pulumi's mock engine and returns every registered
 * resource with its inputs (secrets shown as "[secret]").
 */
import { planStack } from "../scripts/lib/plan";
import { OfflineRun, PlannedResource, PROJECT, runOffline } from "../scripts/lib/offlineEngine";

export { PlannedResource, OfflineRun };

/**
 * A resource's inputs as the offline plan holds them: camelCase JSON, JSON documents (IAM
 * policies, container definitions) still strings, secrets as "[secret]".
 */
export type Inputs = Record<string, unknown>;

export interface PlanOverrides {
    /** Unqualified config keys (`weatherMaxTasks`) → raw string values; replace the stack file's. */
    config?: Record<string, string>;
    /** Unqualified keys among `config` that are secrets (`pulumi config set --secret`). */
    secrets?: Record<string, string>;
}

const qualify = (m: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [`${PROJECT}:${k}`, v]));

const cache = new Map<string, Promise<Plan>>();
let queue: Promise<unknown> = Promise.resolve();

/** Runs must not overlap: the mock engine is process-global, so runs are queued. */
function serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = queue.catch(() => undefined).then(run);
    queue = next;
    return next;
}

/**
 * The offline plan of the real program for `stack`. Runs are deterministic, so plans are
 * cached per (stack, overrides) for the whole test process; treat them as read-only.
 */
export function planFor(stack: string, overrides: PlanOverrides = {}): Promise<Plan> {
    const key = JSON.stringify([stack, overrides]);
    let plan = cache.get(key);
    if (!plan) {
        plan = serialized(() =>
            planStack(stack, {
                config: { ...qualify(overrides.config), ...qualify(overrides.secrets) },
                secretKeys: Object.keys(overrides.secrets ?? {}).map((k) => `${PROJECT}:${k}`),
            }),
        ).then((run) => new Plan(run));
        cache.set(key, plan);
    }
    return plan;
}

/** Runs `build` (which creates one component) under the mock engine for `stack`. */
export async function runComponent(
    build: () => unknown,
    stack = "stg",
    config: Record<string, string> = {},
): Promise<Plan> {
    return new Plan(
        await serialized(() =>
            runOffline(
                () => {
                    build();
                    return {};
                },
                { stack, config: qualify(config) },
            ),
        ),
    );
}

/** Query helpers over a run's resources. */
export class Plan {
    constructor(readonly run: OfflineRun) {}

    get resources(): PlannedResource[] {
        return this.run.resources;
    }

    get outputs(): Record<string, unknown> {
        return this.run.outputs;
    }

    ofType(type: string): PlannedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource with this logical name and type; throws when missing or ambiguous. */
    get(type: string, name: string): PlannedResource {
        const found = this.resources.filter((r) => r.type === type && r.name === name);
        if (found.length !== 1) {
            const names =
                this.ofType(type)
                    .map((r) => r.name)
                    .join(", ") || "none";
            throw new Error(`expected one ${type} named ${name}, found ${found.length} (${type} names: ${names})`);
        }
        return found[0];
    }

    /**
     * Inputs of the named resource, read as `T`: an interface the test declares with the fields
     * it reads. Nothing checks the plan against `T`; the test's assertions do.
     */
    inputs<T extends object = Inputs>(type: string, name: string): T {
        return inputsOf<T>(this.get(type, name));
    }

    /** Every resource below `urn` (children, grandchildren, ...). */
    descendants(urn: string): PlannedResource[] {
        const direct = this.resources.filter((r) => r.parent === urn);
        return direct.flatMap((r) => [r, ...this.descendants(r.urn)]);
    }

    /** Resources whose explicit provider is for `region`. */
    inRegion(region: string): PlannedResource[] {
        const providers = new Set(
            this.ofType("pulumi:providers:aws")
                .filter((p) => p.inputs.region === region)
                .map((p) => p.urn),
        );
        return this.resources.filter((r) => r.provider !== null && providers.has(r.provider));
    }
}

/** A resource's inputs read as `T`, the shape the test declares (see {@link Plan.inputs}). */
export function inputsOf<T extends object = Inputs>(resource: PlannedResource): T {
    return resource.inputs as T;
}

/**
 * Parses a JSON-string input (IAM policies, container definitions, state machine definitions)
 * as `T`, the document shape the test declares; nothing checks it against `T`.
 */
export function json<T = unknown>(value: unknown): T {
    if (typeof value !== "string") throw new Error(`expected a JSON string, got ${JSON.stringify(value)}`);
    return JSON.parse(value) as T;
}
