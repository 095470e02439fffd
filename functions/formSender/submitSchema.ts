/** The body of `POST /form-sender/submit` (DESIGN.md "Dispatcher routes"). */
import { CLIENT_CONFIG_SCHEMA } from "./clientConfig";

const { $id: _clientConfigId, ...clientConfigSchema } = CLIENT_CONFIG_SCHEMA;

export interface BatchOverrides {
    prefer_spot?: boolean;
    allow_on_demand_fallback?: boolean;
    max_attempts?: number;
    workers_per_workflow?: number;
    /** vCPUs of the job (SubmitJob containerOverrides.resourceRequirements VCPU); stack default formSenderJobVcpus. */
    vcpus?: number;
    /** Memory of the job in MiB (resourceRequirements MEMORY); stack default formSenderJobMemoryMib. */
    memory_mib?: number;
}

export interface SubmitBody {
    targeting_id: string;
    client_config?: unknown;
    client_config_object?: string;
    execution: { run_total: number; shards?: number };
    tables?: { use_extra_table?: boolean };
    test_mode?: boolean;
    session_max_hours?: number;
    send_end_time?: string;
    batch?: BatchOverrides;
    idempotency_key?: string;
}

export const SUBMIT_SCHEMA = {
    $id: "https://ops-platform/schemas/submit.json",
    type: "object",
    additionalProperties: false,
    required: ["targeting_id", "execution"],
    oneOf: [{ required: ["client_config"] }, { required: ["client_config_object"] }],
    properties: {
        targeting_id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
        client_config: clientConfigSchema,
        client_config_object: { type: "string", pattern: "^client-config/[A-Za-z0-9/_.-]{1,500}\\.json$" },
        execution: {
            type: "object",
            additionalProperties: false,
            required: ["run_total"],
            properties: {
                run_total: { type: "integer", minimum: 1, maximum: 10000 },
                shards: { type: "integer", minimum: 1, maximum: 10000 },
            },
        },
        tables: { type: "object", additionalProperties: false, properties: { use_extra_table: { type: "boolean" } } },
        test_mode: { type: "boolean" },
        session_max_hours: { type: "number", exclusiveMinimum: 0, maximum: 24 },
        send_end_time: { type: "string", pattern: "^([01]\\d|2[0-3]):[0-5]\\d$" },
        batch: {
            type: "object",
            additionalProperties: false,
            properties: {
                prefer_spot: { type: "boolean" },
                allow_on_demand_fallback: { type: "boolean" },
                max_attempts: { type: "integer", minimum: 1, maximum: 10 },
                workers_per_workflow: { type: "integer", minimum: 1, maximum: 16 },
                // Upper bounds are the instance types' (dispatcher: largestJob); these only keep numbers sane.
                vcpus: { type: "integer", minimum: 1, maximum: 192 },
                memory_mib: { type: "integer", minimum: 512, maximum: 786432 },
            },
        },
        idempotency_key: { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,128}$" },
    },
} as const;

/**
 * Fields seed 003's GCP pipeline had that mean nothing to AWS Batch here. A submit that sends one is refused with this
 * explanation (400 naming the field) instead of the generic "not a known field": nothing is accepted and ignored.
 */
export const UNSUPPORTED_FIELDS: Readonly<Record<string, string>> = {
    "/batch/max_parallelism":
        "AWS Batch has no per-job cap on running array children; the compute environments' maxvCpus " +
        "(formSenderMaxVcpus, formSenderOnDemandMaxVcpus) caps all targetings together. Remove it, or lower " +
        "execution.run_total to run fewer children",
    "/batch/instance_count":
        "a job runs one child per instance-sized slot, so the number of instances follows execution.run_total " +
        "(GAS maps batch_instance_count there). Remove it and set execution.run_total",
    "/batch/machine_type":
        "Batch chooses the instance from the stack's formSenderInstanceTypes; a job asks for a size instead. Remove " +
        "it and set batch.vcpus and batch.memory_mib",
    "/batch/vcpu_per_worker":
        'the vCPU a worker needs is measured once (README "Runner density"), not set per job. Remove it and set ' +
        "batch.vcpus for the whole job",
    "/batch/memory_per_worker_mb":
        'the memory a worker needs is measured once (README "Runner density"), not set per job. Remove it and set ' +
        "batch.memory_mib for the whole job",
};
