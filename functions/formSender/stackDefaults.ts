/**
 * The stack's defaults for per-submit settings, carried from Pulumi.<stack>.yaml to the dispatcher through its
 * Lambda environment (a config change updates the function's configuration, not its code). Precedence, seed 003
 * §7: the submit's value (the targeting column) → the stack default (these variables) → the code default
 * (dispatcher.ts CODE_DEFAULTS, CODE_JOB_SIZE). A variable that is absent leaves the code default.
 */
import type { JobSize, SubmitDefaults } from "./dispatcher";

/** What the program knows about the stack (components/config/formSender.ts), as plain values. */
export interface StackDefaultsInput {
    readonly defaultPreferSpot: boolean;
    readonly defaultAllowOnDemandFallback: boolean;
    /** The job definition's attempts (formSenderJobAttempts) are the default of `max_attempts`. */
    readonly jobAttempts: number;
    readonly defaultWorkersPerWorkflow: number;
    readonly defaultSessionMaxHours: number;
    /** The job definition's vCPU and memory (formSenderJobVcpus / formSenderJobMemoryMib). */
    readonly jobVcpus: number;
    readonly jobMemoryMib: number;
    readonly instanceTypes: readonly string[];
}

/** The dispatcher's side: what it reads back from its environment. */
export interface StackDefaults {
    readonly defaults: SubmitDefaults;
    readonly jobSize: Partial<JobSize>;
    /** The compute environments' instance types; undefined when the stack did not say (no size check then). */
    readonly instanceTypes?: string[];
}

export const ENV = {
    preferSpot: "FORM_SENDER_DEFAULT_PREFER_SPOT",
    allowOnDemandFallback: "FORM_SENDER_DEFAULT_ALLOW_ON_DEMAND_FALLBACK",
    maxAttempts: "FORM_SENDER_DEFAULT_MAX_ATTEMPTS",
    workersPerWorkflow: "FORM_SENDER_DEFAULT_WORKERS_PER_WORKFLOW",
    sessionMaxHours: "FORM_SENDER_DEFAULT_SESSION_MAX_HOURS",
    jobVcpus: "FORM_SENDER_JOB_VCPUS",
    jobMemoryMib: "FORM_SENDER_JOB_MEMORY_MIB",
    instanceTypes: "FORM_SENDER_INSTANCE_TYPES",
} as const;

/** The dispatcher Lambda's environment variables for a stack. */
export function stackDefaultsEnvironment(c: StackDefaultsInput): Record<string, string> {
    return {
        [ENV.preferSpot]: String(c.defaultPreferSpot),
        [ENV.allowOnDemandFallback]: String(c.defaultAllowOnDemandFallback),
        [ENV.maxAttempts]: String(c.jobAttempts),
        [ENV.workersPerWorkflow]: String(c.defaultWorkersPerWorkflow),
        [ENV.sessionMaxHours]: String(c.defaultSessionMaxHours),
        [ENV.jobVcpus]: String(c.jobVcpus),
        [ENV.jobMemoryMib]: String(c.jobMemoryMib),
        [ENV.instanceTypes]: c.instanceTypes.join(","),
    };
}

const fail = (name: string, raw: string, expected: string): never => {
    throw new Error(
        `${name} must be ${expected}, got ${JSON.stringify(raw)}; it comes from the stack config ` +
            "(Pulumi.<stack>.yaml formSender* keys): fix the key and run pulumi up",
    );
};

function boolean(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    if (raw === "true") return true;
    if (raw === "false") return false;
    return fail(name, raw, "true or false");
}

function number(env: NodeJS.ProcessEnv, name: string, min: number, max: number, integer = true): number | undefined {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const v = Number(raw);
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max)
        return fail(name, raw, `${integer ? "an integer" : "a number"} from ${min} to ${max}`);
    return v;
}

/** Reads the stack defaults back (once per cold start); throws naming the variable when one is malformed. */
export function stackDefaultsFromEnvironment(env: NodeJS.ProcessEnv): StackDefaults {
    const types = env[ENV.instanceTypes];
    return {
        // The same bounds as the submit schema (submitSchema.ts), so a default is never something a submit may not say.
        defaults: {
            prefer_spot: boolean(env, ENV.preferSpot),
            allow_on_demand_fallback: boolean(env, ENV.allowOnDemandFallback),
            max_attempts: number(env, ENV.maxAttempts, 1, 10),
            workers_per_workflow: number(env, ENV.workersPerWorkflow, 1, 16),
            session_max_hours: number(env, ENV.sessionMaxHours, 0.0001, 24, false),
        },
        jobSize: { vcpus: number(env, ENV.jobVcpus, 1, 192), memory_mib: number(env, ENV.jobMemoryMib, 512, 786432) },
        ...(types ? { instanceTypes: types.split(",").map((t) => t.trim()) } : {}),
    };
}
