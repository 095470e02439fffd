/**
 * The ops-platform CrossGuard policy pack: `pulumi preview --policy-pack policy`.
 * Every rule lives in ./rules as a pure function over plan-shaped resources; this file only
 * registers them with CrossGuard through the adapter in ./lib/crossguard.ts. The offline suite
 * (test/policy) runs the same rules against both stacks' plans.
 */
import { PolicyPack } from "@pulumi/policy";
import { toPolicies } from "./lib/crossguard";
import { DEFAULT_CONFIG, RULES } from "./rules";

new PolicyPack("ops-platform", {
    description:
        "Security guarantees of ops-platform: private encrypted S3, least-privilege IAM, traced Lambdas, " +
        "IAM-authorised throttled WAF-protected APIs, TLS 1.3 ALBs, encrypted EFS, unprivileged containers, " +
        "bounded logs, and secrets only in Secrets Manager.",
    enforcementLevel: "mandatory",
    policies: toPolicies(RULES, DEFAULT_CONFIG),
});
