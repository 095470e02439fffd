/**
 * Application Load Balancers: the weather web app is public. Traffic is HTTPS with a TLS 1.3
 * security policy (TLS 1.2 minimum), plain HTTP only redirects, and malformed headers are
 * dropped before they reach the app (request-smuggling defence).
 */
import { refersTo } from "../lib/references";
import { asArray, describe, display, get, isUnknown, ofType, PlanResource } from "../lib/resource";
import { ResourceRule, StackFinding, StackRule } from "../lib/rule";

const LB = "aws:lb/loadBalancer:LoadBalancer";
const LISTENER = "aws:lb/listener:Listener";

/** ELB TLS 1.3 policies whose minimum is TLS 1.2 or 1.3 (the `TLS13-1-0`/`1-1` ones still accept TLS 1.0/1.1). */
export const TLS13_POLICY = /^ELBSecurityPolicy-TLS13-1-[23]-/;

const isApplication = (lb: PlanResource) => {
    const t = lb.inputs.loadBalancerType;
    return t === undefined || t === "application" || isUnknown(t);
};

/** An HTTP listener action that sends clients to HTTPS. */
function redirectsToHttps(action: unknown): boolean {
    if (isUnknown(action)) return true;
    const proto = get(action, "redirect", "protocol");
    return get(action, "type") === "redirect" && (proto === "HTTPS" || isUnknown(proto));
}

function listenerProtocol(l: PlanResource): unknown {
    // Without protocol, an ALB listener is HTTP unless it has a certificate.
    return l.inputs.protocol ?? (l.inputs.certificateArn ? "HTTPS" : "HTTP");
}

export const albListenerSecure: ResourceRule = {
    scope: "resource",
    name: "alb-listener-secure",
    description:
        "HTTPS/TLS listeners use a TLS 1.3 security policy " +
        "(ELBSecurityPolicy-TLS13-1-2-* or -1-3-*) and a certificate; HTTP listeners only redirect to HTTPS.",
    checkov: ["CKV_AWS_2", "CKV_AWS_103", "CKV2_AWS_74"],
    enforcementLevel: "mandatory",
    remediation:
        'HTTPS listener: sslPolicy "ELBSecurityPolicy-TLS13-1-2-2021-06" and certificateArn; ' +
        'HTTP listener: defaultActions [{ type: "redirect", ' +
        'redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }].',
    types: [LISTENER],
    check(r) {
        const proto = listenerProtocol(r);
        if (isUnknown(proto)) return [];
        if (proto === "HTTPS" || proto === "TLS") {
            const out: string[] = [];
            const policy = r.inputs.sslPolicy;
            if (!isUnknown(policy) && !(typeof policy === "string" && TLS13_POLICY.test(policy))) {
                const shown = policy === undefined ? "unset (the ELB default allows TLS 1.0)" : `"${display(policy)}"`;
                out.push(
                    `${describe(r)} (${proto}) uses ssl policy ${shown}, not a TLS 1.3 policy with a TLS 1.2 minimum`,
                );
            }
            if (r.inputs.certificateArn === undefined) out.push(`${describe(r)} (${proto}) has no certificateArn`);
            return out;
        }
        if (proto === "HTTP") {
            const actions = r.inputs.defaultActions;
            if (isUnknown(actions)) return [];
            const list = asArray(actions);
            if (list.length === 0 || !list.every(redirectsToHttps))
                return [`${describe(r)} serves plain HTTP instead of redirecting to HTTPS`];
        }
        return [];
    },
};

export const albHttpRedirect: StackRule = {
    scope: "stack",
    name: "alb-http-redirect",
    description: "Every application load balancer has an HTTPS listener and an HTTP listener that redirects to HTTPS.",
    checkov: ["CKV2_AWS_20"],
    enforcementLevel: "mandatory",
    remediation: "Add an HTTPS :443 listener and an HTTP :80 listener whose default action redirects to HTTPS.",
    check(resources) {
        const out: StackFinding[] = [];
        const listeners = ofType(resources, LISTENER);
        for (const lb of ofType(resources, LB).filter(isApplication)) {
            const mine = listeners.filter((l) => refersTo(l, "loadBalancerArn", l.inputs.loadBalancerArn, lb) !== "no");
            const protocols = mine.map(listenerProtocol);
            const unknown = protocols.some(isUnknown);
            if (!unknown && !protocols.includes("HTTPS"))
                out.push({ urn: lb.urn, message: `${describe(lb)} has no HTTPS listener` });
            const redirect = mine.some(
                (l) =>
                    listenerProtocol(l) === "HTTP" &&
                    asArray(l.inputs.defaultActions).length > 0 &&
                    asArray(l.inputs.defaultActions).every(redirectsToHttps),
            );
            if (!unknown && !redirect)
                out.push({
                    urn: lb.urn,
                    message:
                        `${describe(lb)} has no HTTP listener redirecting to HTTPS, ` +
                        "so http:// visitors get no answer",
                });
        }
        return out;
    },
};

export const albDropInvalidHeaders: ResourceRule = {
    scope: "resource",
    name: "alb-drop-invalid-headers",
    description: "Every application load balancer drops HTTP headers with invalid names.",
    checkov: ["CKV_AWS_131"],
    enforcementLevel: "mandatory",
    remediation: "Set dropInvalidHeaderFields: true on the load balancer.",
    types: [LB],
    check(r) {
        if (!isApplication(r)) return [];
        const v = r.inputs.dropInvalidHeaderFields;
        return v === true || isUnknown(v) ? [] : [`${describe(r)} does not set dropInvalidHeaderFields: true`];
    },
};

export const ALB_RULES = [albListenerSecure, albHttpRedirect, albDropInvalidHeaders];
