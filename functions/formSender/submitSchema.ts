/** The body of `POST /form-sender/submit` (DESIGN.md "Dispatcher routes"). */
import { CLIENT_CONFIG_SCHEMA } from "./clientConfig";

const { $id: _clientConfigId, ...clientConfigSchema } = CLIENT_CONFIG_SCHEMA;

export interface BatchOverrides {
    prefer_spot?: boolean;
    allow_on_demand_fallback?: boolean;
    max_attempts?: number;
    workers_per_workflow?: number;
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
            },
        },
        idempotency_key: { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,128}$" },
    },
} as const;
