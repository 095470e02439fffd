/**
 * Secrets live in Secrets Manager only (Supabase URL/key at /fs-runner/<env>/supabase/*, the
 * weather API keys, the DB password and YouTube key). Containers receive them through `secrets`
 * entries pointing at Secrets Manager ARNs, never as environment values or SSM parameters.
 */
import { containerDocs, JOB_DEFINITION, TASK_DEFINITION } from "../lib/containers";
import { secretReason } from "../lib/secretPatterns";
import { asArray, describe, display, isUnknown, prop } from "../lib/resource";
import { ResourceRule } from "../lib/rule";

const PARAMETER = "aws:ssm/parameter:Parameter";
const SECRETS_MANAGER_ARN = /^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:/;

export const secretsInSecretsManager: ResourceRule = {
    scope: "resource",
    name: "secrets-in-secrets-manager-only",
    description:
        "Container secrets come from Secrets Manager ARNs; " +
        "no container environment value or SSM parameter holds a secret.",
    checkov: [],
    enforcementLevel: "mandatory",
    remediation:
        "Store the value in aws.secretsmanager.Secret and reference it: " +
        'secrets: [{ name: "SUPABASE_KEY", valueFrom: secret.arn }]. ' +
        "SSM parameters carry only non-secret settings (e.g. the job definition ARN).",
    types: [TASK_DEFINITION, JOB_DEFINITION, PARAMETER],
    check(r) {
        if (r.type === PARAMETER) {
            const out: string[] = [];
            if (r.inputs.type === "SecureString")
                out.push(`${describe(r)} is a SecureString parameter; secrets belong in Secrets Manager`);
            const name = typeof r.inputs.name === "string" ? r.inputs.name : r.name;
            for (const key of ["value", "insecureValue"]) {
                const why = secretReason(name.split("/").pop() ?? name, r.inputs[key]);
                if (why) out.push(`${describe(r)} \`${key}\`: ${why}`);
            }
            return out;
        }
        const docs = containerDocs(r);
        const out = docs.errors.map((e) => `${describe(r)} ${e}`);
        for (const c of docs.containers) {
            for (const s of asArray(prop(c.def, "secrets"))) {
                const from = prop(s, "valueFrom");
                if (typeof from === "string" && !isUnknown(from) && !SECRETS_MANAGER_ARN.test(from)) {
                    const store = from.startsWith("arn:") ? from.split(":")[2] : "an SSM parameter";
                    out.push(
                        `${describe(r)} ${c.label} secret ${display(prop(s, "name"))} is read from ${store}, ` +
                            "not a Secrets Manager ARN",
                    );
                }
            }
            for (const e of asArray(prop(c.def, "environment"))) {
                const name = display(prop(e, "name"));
                const why = secretReason(name, prop(e, "value"));
                if (why) out.push(`${describe(r)} ${c.label} environment variable ${name}: ${why}`);
            }
        }
        return out;
    },
};

export const SECRET_RULES = [secretsInSecretsManager];
