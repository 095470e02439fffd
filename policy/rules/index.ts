/**
 * Every rule of the ops-platform policy pack, in report order, and the default configuration.
 * The CrossGuard pack (../index.ts) and the offline tests (test/policy) both use this list.
 */
import { evaluate, Rule, RuleConfig, Violation } from "../lib/rule";
import { PlanResource } from "../lib/resource";
import { ALB_RULES } from "./alb";
import { APIGATEWAY_RULES } from "./apigateway";
import { CONTAINER_RULES } from "./containers";
import { DEFAULT_WILDCARD_RESOURCE_ACTIONS, IAM_RULES } from "./iam";
import { LAMBDA_RULES } from "./lambda";
import { LOG_RULES } from "./logs";
import { S3_RULES } from "./s3";
import { SECRET_RULES } from "./secrets";
import { WORKFLOW_RULES } from "./workflows";

export const RULES: readonly Rule[] = [
    ...S3_RULES,
    ...IAM_RULES,
    ...LAMBDA_RULES,
    ...APIGATEWAY_RULES,
    ...ALB_RULES,
    ...CONTAINER_RULES,
    ...LOG_RULES,
    ...WORKFLOW_RULES,
    ...SECRET_RULES,
];

export const DEFAULT_CONFIG: RuleConfig = { wildcardResourceActions: DEFAULT_WILDCARD_RESOURCE_ACTIONS };

/** All rules over one plan's resources with the default configuration. */
export function checkPlan(resources: readonly PlanResource[], config: RuleConfig = DEFAULT_CONFIG): Violation[] {
    return evaluate(resources, RULES, config);
}
