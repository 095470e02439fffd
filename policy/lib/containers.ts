/**
 * Containers and volumes of ECS task definitions and Batch job definitions, whose definitions
 * are JSON strings. Returns "unknown" when the document is not known yet (preview).
 */
import { asArray, isUnknown, parseJsonProperty, PlanResource } from "./resource";

export const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
export const JOB_DEFINITION = "aws:batch/jobDefinition:JobDefinition";

export interface Container {
    /** `containerDefinitions[0] (app)`, `containerProperties`. */
    readonly label: string;
    readonly def: any;
}

export interface ContainerDocs {
    readonly containers: Container[];
    /** Volumes with their `efsVolumeConfiguration` (ECS) or `efsVolumeConfiguration` (Batch). */
    readonly volumes: any[];
    /** Documents that could not be read: unknown during preview, or invalid JSON. */
    readonly unknown: boolean;
    readonly errors: string[];
}

function named(label: string, c: any): Container {
    return { label: typeof c?.name === "string" ? `${label} (${c.name})` : label, def: c };
}

export function containerDocs(r: PlanResource): ContainerDocs {
    const out: ContainerDocs = { containers: [], volumes: [], unknown: false, errors: [] };
    const read = (prop: string): any => {
        const p = parseJsonProperty(r.inputs[prop]);
        if (p.kind === "unknown") (out as { unknown: boolean }).unknown = true;
        if (p.kind === "invalid") out.errors.push(`\`${prop}\` is not valid JSON: ${p.error}`);
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
            out.volumes.push(...asArray(cp.volumes));
        }
        const ecs = read("ecsProperties");
        asArray(ecs?.taskProperties).forEach((t: any, ti) => {
            asArray(t?.containers).forEach((c, ci) =>
                out.containers.push(named(`ecsProperties.taskProperties[${ti}].containers[${ci}]`, c)),
            );
            out.volumes.push(...asArray(t?.volumes));
        });
        const nodes = read("nodeProperties");
        asArray(nodes?.nodeRangeProperties).forEach((n: any, ni) => {
            if (n?.container) {
                out.containers.push({ label: `nodeProperties.nodeRangeProperties[${ni}].container`, def: n.container });
                out.volumes.push(...asArray(n.container.volumes));
            }
        });
    }
    return out;
}
