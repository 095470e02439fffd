import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/**
 * The README's IAM trust policies must admit the OIDC subject of every workflow job that assumes a role, and nothing
 * wider: a renamed environment, a new role-assuming job or a new trigger breaks this test until the README follows.
 */

/** A workflow job, as far as this test reads it. */
interface Job {
    readonly environment?: string | { readonly name: string };
    readonly steps?: { readonly uses?: string; readonly with?: Record<string, unknown> }[];
}

/** A workflow file, as far as this test reads it. */
interface Workflow {
    readonly on: Record<string, unknown> | string | string[];
    readonly jobs: Record<string, Job>;
}

/** One statement of an IAM trust policy, as far as this test reads it. */
interface Statement {
    readonly Effect: string;
    readonly Principal: { readonly Federated?: string };
    readonly Action: string | string[];
    readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** A job that assumes a role, with the role variable it uses and the OIDC subjects its token can carry. */
interface RoleUse {
    readonly where: string;
    readonly roleVariable: string;
    readonly subjects: string[];
}

const ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
/** The repository stands for itself with these placeholders in the README's policies. */
const REPO = "repo:OWNER/REPO";
const ISSUER = "token.actions.githubusercontent.com";
/** The audience aws-actions/configure-aws-credentials asks for (its README, "OIDC"). */
const AUDIENCE = "sts.amazonaws.com";

const loadWorkflows = (): Record<string, Workflow> =>
    Object.fromEntries(
        fs
            .readdirSync(WORKFLOWS)
            .filter((f) => /\.ya?ml$/.test(f))
            .map((f) => [f, parse(fs.readFileSync(path.join(WORKFLOWS, f), "utf8")) as Workflow]),
    );

const events = (on: Workflow["on"]): string[] =>
    typeof on === "string" ? [on] : Array.isArray(on) ? on : Object.keys(on);

/**
 * The subjects a job's token can carry, as GitHub assembles them
 * (https://docs.github.com/en/actions/reference/security/oidc#example-subject-claims): the environment when the
 * job names one (whatever the event); else `pull_request` for pull-request events; else the git ref, here the
 * branches a push lists. A workflow_dispatch without an environment runs on any branch: refused, the README's
 * policies cannot name it.
 */
export function jobSubjects(file: string, jobId: string, wf: Workflow): string[] {
    const env = wf.jobs[jobId].environment;
    const name = typeof env === "string" ? env : env?.name;
    if (name !== undefined) {
        if (name.includes("${{")) throw new Error(`${file} job ${jobId}: environment '${name}' is an expression`);
        // A ':' in a value is written %3A in the subject (same page, "Filtering for metadata containing :").
        return [`${REPO}:environment:${name.replace(/:/g, "%3A")}`];
    }
    const subjects: string[] = [];
    for (const event of events(wf.on)) {
        if (event === "pull_request") subjects.push(`${REPO}:pull_request`);
        else if (event === "push") {
            const push = (wf.on as Record<string, { branches?: string[] } | null>).push;
            const branches = push?.branches;
            if (!branches) throw new Error(`${file} job ${jobId}: a push without branches has no fixed subject`);
            subjects.push(...branches.map((b) => `${REPO}:ref:refs/heads/${b}`));
        } else {
            throw new Error(`${file} job ${jobId}: event '${event}' without an environment has no fixed subject`);
        }
    }
    return subjects;
}

/** Every job that assumes a role through aws-actions/configure-aws-credentials, with its subjects. */
export function roleUses(workflows: Record<string, Workflow>): RoleUse[] {
    const uses: RoleUse[] = [];
    for (const [file, wf] of Object.entries(workflows)) {
        for (const [jobId, job] of Object.entries(wf.jobs)) {
            for (const step of job.steps ?? []) {
                if (!String(step.uses).startsWith("aws-actions/configure-aws-credentials@")) continue;
                const assumed = step.with?.["role-to-assume"];
                const role = typeof assumed === "string" ? assumed : "";
                const m = /^\$\{\{\s*vars\.(\w+)\s*\}\}$/.exec(role);
                if (!m) throw new Error(`${file} job ${jobId}: role-to-assume '${role}' is not a repository variable`);
                uses.push({
                    where: `${file} job ${jobId}`,
                    roleVariable: m[1],
                    subjects: jobSubjects(file, jobId, wf),
                });
            }
        }
    }
    return uses;
}

/** The README's trust policies, by the role variable named in the sentence right above each fenced JSON block. */
export function readmeTrustPolicies(readme: string): Map<string, { Statement: Statement[] }> {
    const policies = new Map<string, { Statement: Statement[] }>();
    const re = /^Trust policy of the role in `(\w+)`[^\n]*\n\n```json\n([\s\S]*?)\n```/gm;
    for (const m of readme.matchAll(re)) policies.set(m[1], JSON.parse(m[2]) as { Statement: Statement[] });
    return policies;
}

/** IAM StringLike: `*` any run of characters, `?` one character, the rest literal, case-sensitive. */
const like = (pattern: string, value: string) =>
    new RegExp(
        "^" +
            pattern
                .split("")
                .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
                .join("") +
            "$",
    ).test(value);

/**
 * Whether a trust policy lets a web-identity token with these claims assume the role: an Allow statement for
 * sts:AssumeRoleWithWebIdentity from GitHub's provider whose every condition key matches (values of one key are
 * ORed, keys and operators ANDed:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html).
 * Only StringEquals and StringLike are understood; any other operator fails the check rather than being ignored.
 */
export function admits(policy: { Statement: Statement[] }, claims: { sub: string; aud: string }): boolean {
    return policy.Statement.some((s) => {
        const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
        if (s.Effect !== "Allow" || !actions.includes("sts:AssumeRoleWithWebIdentity")) return false;
        if (
            !/^arn:aws:iam::[^:]+:oidc-provider\/token\.actions\.githubusercontent\.com$/.test(
                s.Principal.Federated ?? "",
            )
        )
            return false;
        return Object.entries(s.Condition ?? {}).every(([op, keys]) =>
            Object.entries(keys).every(([key, values]) => {
                const claim = key === `${ISSUER}:sub` ? claims.sub : key === `${ISSUER}:aud` ? claims.aud : undefined;
                if (claim === undefined) return false;
                const list = Array.isArray(values) ? values : [values];
                if (op === "StringEquals") return list.includes(claim);
                if (op === "StringLike") return list.some((p) => like(p, claim));
                return false;
            }),
        );
    });
}

/** Whether the policy conditions on both the audience and the subject (GitHub: at least one condition is a must). */
const conditionsOnSubjectAndAudience = (policy: { Statement: Statement[] }) =>
    policy.Statement.every((s) => {
        const keys = Object.values(s.Condition ?? {}).flatMap((k) => Object.keys(k));
        return keys.includes(`${ISSUER}:sub`) && keys.includes(`${ISSUER}:aud`);
    });

describe("GitHub OIDC trust policies in the README", () => {
    const workflows = loadWorkflows();
    const policies = readmeTrustPolicies(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"));
    const uses = roleUses(workflows);

    it("finds the role-assuming jobs and their subjects in the workflows", () =>
        assert.deepEqual(
            uses.map((u) => [u.where, u.roleVariable, u.subjects]),
            [
                ["deploy.yml job stg", "AWS_DEPLOY_ROLE_ARN", ["repo:OWNER/REPO:environment:staging"]],
                ["deploy.yml job prd", "AWS_DEPLOY_ROLE_ARN", ["repo:OWNER/REPO:environment:production"]],
                ["pull-request.yml job preview", "AWS_PREVIEW_ROLE_ARN", ["repo:OWNER/REPO:pull_request"]],
            ],
        ));

    it("has one trust policy per role variable the workflows use, each conditioned on sub and aud", () => {
        assert.deepEqual([...policies.keys()].sort(), [...new Set(uses.map((u) => u.roleVariable))].sort());
        for (const [role, policy] of policies) assert.ok(conditionsOnSubjectAndAudience(policy), role);
    });

    for (const use of uses) {
        for (const sub of use.subjects) {
            it(`the ${use.roleVariable} policy admits ${use.where} (${sub})`, () => {
                const policy = policies.get(use.roleVariable);
                assert.ok(policy, `README has no trust policy for ${use.roleVariable}`);
                assert.ok(admits(policy, { sub, aud: AUDIENCE }), `${sub} is refused`);
            });
        }
    }

    it("each policy admits no subject of the workflows other than its own jobs', nor another branch or audience", () => {
        const all = [...new Set(uses.flatMap((u) => u.subjects))];
        const strangers = [
            `${REPO}:ref:refs/heads/main`,
            `${REPO}:ref:refs/heads/feature`,
            `${REPO}:environment:other`,
            "repo:OTHER/REPO:environment:production",
            "repo:OWNER/REPO-fork:pull_request",
        ];
        for (const [role, policy] of policies) {
            const own = new Set(uses.filter((u) => u.roleVariable === role).flatMap((u) => u.subjects));
            for (const sub of [...all, ...strangers].filter((s) => !own.has(s)))
                assert.ok(!admits(policy, { sub, aud: AUDIENCE }), `${role} admits ${sub}`);
            for (const sub of own) assert.ok(!admits(policy, { sub, aud: "https://github.com/OWNER" }), role);
        }
    });

    it("a renamed environment is no longer admitted (the check can fail)", () => {
        const renamed = structuredClone(workflows);
        (renamed["deploy.yml"].jobs.stg as { environment: string }).environment = "stage";
        const stg = roleUses(renamed).find((u) => u.where === "deploy.yml job stg");
        assert.deepEqual(stg?.subjects, ["repo:OWNER/REPO:environment:stage"]);
        assert.equal(admits(policies.get("AWS_DEPLOY_ROLE_ARN")!, { sub: stg.subjects[0], aud: AUDIENCE }), false);
    });

    it("derives subjects as GitHub documents them", () => {
        const wf = (on: Workflow["on"], environment?: string): Workflow => ({ on, jobs: { j: { environment } } });
        assert.deepEqual(jobSubjects("w", "j", wf({ push: { branches: ["main"] } }, "Prod:V1")), [
            "repo:OWNER/REPO:environment:Prod%3AV1",
        ]);
        assert.deepEqual(jobSubjects("w", "j", wf({ push: { branches: ["main"] } })), [
            "repo:OWNER/REPO:ref:refs/heads/main",
        ]);
        assert.deepEqual(jobSubjects("w", "j", wf("pull_request")), ["repo:OWNER/REPO:pull_request"]);
        assert.throws(
            () => jobSubjects("w", "j", wf({ workflow_dispatch: null })),
            /w job j: event 'workflow_dispatch' without an environment has no fixed subject/,
        );
        assert.equal(like("repo:OWNER/REPO:*", "repo:OWNER/REPO:pull_request"), true);
        assert.equal(like("repo:OWNER/REPO:environment:?rd", "repo:OWNER/REPO:environment:prd"), true);
        assert.equal(like("repo:OWNER/REPO.x", "repo:OWNER/REPOax"), false);
    });
});
