/**
 * Containers (ECS task definitions and Batch job definitions) and the EFS cache they mount.
 * The runner visits third-party sites with Chromium: a privileged container would hand a
 * browser exploit the host, a secret in its environment would hand it the secret, and Chromium
 * without its sandbox would hand it the runner's process (policy/THREAT_MODEL.md "Hostile sites").
 * EFS holds generated comments and is encrypted at rest and on the wire.
 */
import { containerDocs, JOB_DEFINITION, TASK_DEFINITION } from "../lib/containers";
import { statementsOf } from "../lib/policyDocument";
import { refersTo } from "../lib/references";
import {
    asArray,
    describe,
    display,
    get,
    isUnknown,
    ofType,
    parseJsonProperty,
    PlanResource,
    prop,
} from "../lib/resource";
import { ResourceRule, StackFinding, StackRule } from "../lib/rule";

const FILE_SYSTEM = "aws:efs/fileSystem:FileSystem";
const FILE_SYSTEM_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy";

export const containersNonPrivileged: ResourceRule = {
    scope: "resource",
    name: "containers-non-privileged",
    description: "No ECS or Batch container runs privileged.",
    checkov: ["CKV_AWS_334", "CKV_AWS_210"],
    enforcementLevel: "mandatory",
    remediation:
        "Remove `privileged: true`; Chromium needs shared memory " +
        "(sharedMemorySize / --shm-size) and an init process, not privileges.",
    types: [TASK_DEFINITION, JOB_DEFINITION],
    check(r) {
        const docs = containerDocs(r);
        return [
            ...docs.errors.map((e) => `${describe(r)} ${e}`),
            ...docs.containers
                .filter((c) => prop(c.def, "privileged") === true)
                .map((c) => `${describe(r)} ${c.label} runs privileged`),
        ];
    },
};

export const efsEncryptedAtRest: ResourceRule = {
    scope: "resource",
    name: "efs-encrypted-at-rest",
    description: "Every EFS file system is encrypted at rest.",
    checkov: ["CKV_AWS_42"],
    enforcementLevel: "mandatory",
    remediation: "Set encrypted: true on the file system (it cannot be changed later: the file system is replaced).",
    types: [FILE_SYSTEM],
    check(r) {
        const v = r.inputs.encrypted;
        return v === true || isUnknown(v) ? [] : [`${describe(r)} is not encrypted at rest`];
    },
};

/** Whether an EFS file-system policy refuses connections without TLS. */
function deniesInsecureTransport(policy: unknown): boolean {
    const parsed = parseJsonProperty(policy);
    if (parsed.kind === "unknown") return true;
    if (parsed.kind !== "ok") return false;
    return statementsOf(parsed.value).some(
        (s) =>
            s.effect === "Deny" &&
            s.actions.length > 0 &&
            asArray(get(s.condition, "Bool", "aws:SecureTransport")).some((v) => v === false || v === "false"),
    );
}

export const efsEncryptedInTransit: StackRule = {
    scope: "stack",
    name: "efs-encrypted-in-transit",
    description:
        "Every EFS volume of a task or job definition enables transit encryption, " +
        "and every file system's policy denies non-TLS clients.",
    checkov: ["CKV_AWS_97"],
    enforcementLevel: "mandatory",
    remediation:
        'efsVolumeConfiguration: { transitEncryption: "ENABLED", ' +
        'authorizationConfig: { accessPointId, iam: "ENABLED" } }, ' +
        "and an aws.efs.FileSystemPolicy with a Deny on aws:SecureTransport = false.",
    check(resources) {
        const out: StackFinding[] = [];
        for (const r of ofType(resources, TASK_DEFINITION, JOB_DEFINITION)) {
            for (const v of containerDocs(r).volumes) {
                const efs = get(v, "efsVolumeConfiguration");
                if (efs === undefined || isUnknown(efs)) continue;
                const transit = get(efs, "transitEncryption");
                if (transit !== "ENABLED" && !isUnknown(transit)) {
                    out.push({
                        urn: r.urn,
                        message:
                            `${describe(r)} volume '${display(get(v, "name") ?? "?")}' ` +
                            'mounts EFS without transitEncryption "ENABLED"',
                    });
                }
            }
        }
        const policies = ofType(resources, FILE_SYSTEM_POLICY);
        const fileSystems = ofType(resources, FILE_SYSTEM);
        // EFS ids exist only once AWS creates the file system, and the offline plan records inputs
        // only: a policy whose `fileSystemId` names none of the file systems here is counted for
        // all of them, so the plan still proves that a TLS-only policy exists.
        const targetsOf = (p: PlanResource) => {
            const hits = fileSystems.filter((fs) => refersTo(p, "fileSystemId", p.inputs.fileSystemId, fs) !== "no");
            return hits.length ? hits : fileSystems;
        };
        for (const fs of fileSystems) {
            const mine = policies.filter((p) => targetsOf(p).includes(fs));
            if (!mine.some((p) => deniesInsecureTransport(p.inputs.policy))) {
                out.push({
                    urn: fs.urn,
                    message: mine.length
                        ? `${describe(fs)}: its file-system policy does not deny access ` +
                          "when aws:SecureTransport is false"
                        : `${describe(fs)} has no file-system policy denying clients without TLS`,
                });
            }
        }
        return out;
    },
};

/** Entries of a container definition's `environment` or `secrets` list, as { name, … } objects. */
function entries(def: unknown, key: "environment" | "secrets"): Array<{ name: string; value: unknown }> {
    return asArray(prop(def, key)).map((e) => ({
        name: typeof prop(e, "name") === "string" ? String(prop(e, "name")) : "?",
        value: key === "secrets" ? prop(e, "valueFrom") : prop(e, "value"),
    }));
}

export const batchRunnerNoSecretEnv: ResourceRule = {
    scope: "resource",
    name: "batch-runner-no-secret-env",
    description:
        "No Batch job definition (the runner, which opens hostile sites in Chromium) injects a secret as an " +
        "environment variable: its `secrets` list is empty and the runner reads secrets by ARN at start.",
    checkov: [],
    enforcementLevel: "mandatory",
    remediation:
        "Drop the `secrets` entry and pass the secret's ARN as a plain variable (SUPABASE_KEY_SECRET_ARN); " +
        "the runner reads the value with its job role at start and keeps it in memory " +
        "(containers/runner/src/secrets.ts), and the job role gets secretsmanager:GetSecretValue on that ARN.",
    types: [JOB_DEFINITION],
    check(r) {
        const docs = containerDocs(r);
        return docs.containers.flatMap((c) =>
            entries(c.def, "secrets").map(
                (e) =>
                    `${describe(r)} ${c.label} injects the secret ${e.name} as an environment variable, where every ` +
                    "process in the container (Chromium included) can read it",
            ),
        );
    },
};

/** The runner's local-development switch (containers/runner/src/browser.ts `ALLOW_NO_SANDBOX`). */
const ALLOW_NO_SANDBOX = "RUNNER_ALLOW_NO_SANDBOX";

export const batchRunnerChromiumSandbox: ResourceRule = {
    scope: "resource",
    name: "batch-runner-chromium-sandbox",
    description:
        "No Batch job definition turns the runner's Chromium sandbox off (RUNNER_ALLOW_NO_SANDBOX=1 is for local " +
        "development).",
    checkov: [],
    // Mandatory: the compute environments' hosts run containers under a Docker seccomp profile that lets Chromium's
    // namespace sandbox start (components/formSender/chromiumSeccomp.ts, policy/THREAT_MODEL.md "Chromium's
    // sandbox"), so no job definition has a reason to turn it off, and one that does hands a hostile page the job.
    enforcementLevel: "mandatory",
    remediation:
        "Remove RUNNER_ALLOW_NO_SANDBOX from the job definition: the compute environments' launch template gives the " +
        "hosts' Docker a seccomp profile under which Chromium's sandbox starts " +
        "(components/formSender/chromiumSeccomp.ts); if it does not start there, fix the host, not the job.",
    types: [JOB_DEFINITION],
    check(r) {
        return containerDocs(r).containers.flatMap((c) =>
            entries(c.def, "environment")
                .filter((e) => e.name === ALLOW_NO_SANDBOX && String(e.value).trim() === "1")
                .map(() => `${describe(r)} ${c.label} sets ${ALLOW_NO_SANDBOX}=1: Chromium runs without its sandbox`),
        );
    },
};

export const CONTAINER_RULES = [
    containersNonPrivileged,
    efsEncryptedAtRest,
    efsEncryptedInTransit,
    batchRunnerNoSecretEnv,
    batchRunnerChromiumSandbox,
];
