/**
 * Containers and volumes of ECS task definitions and Batch job definitions, whose definitions
 * are JSON strings. Returns "unknown" when the document is not known yet (preview).
 */
import { asArray, isUnknown, parseJsonProperty, PlanResource, prop } from "./resource";

export const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
export const JOB_DEFINITION = "aws:batch/jobDefinition:JobDefinition";

export interface Container {
    /** `containerDefinitions[0] (app)`, `containerProperties`. */
    readonly label: string;
    /** The container's definition as parsed JSON; read it with `prop`/`get`. */
    readonly def: unknown;
}

export interface ContainerDocs {
    readonly containers: Container[];
    /** Volumes with their `efsVolumeConfiguration` (ECS) or `efsVolumeConfiguration` (Batch). */
    readonly volumes: unknown[];
    /** Documents that could not be read: unknown during preview, or invalid JSON. */
    readonly unknown: boolean;
    readonly errors: string[];
}

function named(label: string, c: unknown): Container {
    const name = prop(c, "name");
    return { label: typeof name === "string" ? `${label} (${name})` : label, def: c };
}

export function containerDocs(r: PlanResource): ContainerDocs {
    const out: ContainerDocs = { containers: [], volumes: [], unknown: false, errors: [] };
    const read = (property: string): unknown => {
        const p = parseJsonProperty(r.inputs[property]);
        if (p.kind === "unknown") (out as { unknown: boolean }).unknown = true;
        if (p.kind === "invalid") out.errors.push(`\`${property}\` is not valid JSON: ${p.error}`);
        return p.kind === "ok" ? p.value : undefined;
    };
    if (r.type === TASK_DEFINITION) {
        asArray(read("containerDefinitions")).forEach((c, i) =>
            out.containers.push(named(`containerDefinitions[${i}]`, c)),
        );
        if (isUnknown(r.inputs.volumes)) (out as { unknown: boolean }).unknown = true;
        else out.volumes.push(...asArray(r.inputs.volumes));
    } else if (r.type === JOB_DEFINITION) {
        const cp = read("containerProperties");
        if (cp) {
            out.containers.push({ label: "containerProperties", def: cp });
            out.volumes.push(...asArray(prop(cp, "volumes")));
        }
        const ecs = read("ecsProperties");
        asArray(prop(ecs, "taskProperties")).forEach((t, ti) => {
            asArray(prop(t, "containers")).forEach((c, ci) =>
                out.containers.push(named(`ecsProperties.taskProperties[${ti}].containers[${ci}]`, c)),
            );
            out.volumes.push(...asArray(prop(t, "volumes")));
        });
        const nodes = read("nodeProperties");
        asArray(prop(nodes, "nodeRangeProperties")).forEach((n, ni) => {
            const container = prop(n, "container");
            if (container) {
                out.containers.push({ label: `nodeProperties.nodeRangeProperties[${ni}].container`, def: container });
                out.volumes.push(...asArray(prop(container, "volumes")));
            }
        });
    }
    return out;
}
