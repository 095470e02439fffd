import * as fs from "fs";
import * as path from "path";
import {
    AWS_REGIONS,
    AwsRegion,
    arnPattern,
    arnRegion,
    CIDR16_TO_24,
    ConfigProblem,
    configProblem,
    ConfigReader,
} from "./validate";

/** WeatherService settings (keys `weather*`). */
export interface WeatherConfig {
    readonly region: AwsRegion;
    readonly vpcCidr: string;
    readonly availabilityZones: string[];
    /** `single`: one NAT gateway shared by all private subnets; `perAz`: one per AZ. */
    readonly natGateways: "single" | "perAz";
    readonly certificateArn: string;
    /** Prebuilt image; when set, no image is built. */
    readonly imageUri?: string;
    /** Directory holding the app source (build context) when no imageUri is set. */
    readonly appPath?: string;
    readonly logRetentionDays: number;
    readonly minTasks: number;
    readonly maxTasks: number;
    readonly cpuTargetPercent: number;
    readonly memoryTargetPercent: number;
    readonly healthCheckGraceSeconds: number;
    readonly idleTimeoutSeconds: number;
    /** Health check path of the FastAPI server on :8000. */
    readonly apiHealthCheckPath: string;
}

export const WEATHER_DEFAULTS = {
    region: "ap-northeast-1" as AwsRegion,
    vpcCidr: "10.20.0.0/16",
    natGateways: "single" as const,
    logRetentionDays: 30,
    minTasks: 1,
    maxTasks: 4,
    cpuTargetPercent: 70,
    memoryTargetPercent: 80,
    healthCheckGraceSeconds: 120,
    /** Streamlit keeps a websocket open per browser tab; the ALB default of 60 s drops idle ones. */
    idleTimeoutSeconds: 300,
    apiHealthCheckPath: "/health",
};

export function readWeatherConfig(r: ConfigReader): WeatherConfig {
    const d = WEATHER_DEFAULTS;
    const region = r.oneOf("weatherRegion", AWS_REGIONS, { default: d.region });
    const azPattern = new RegExp(`^${region}[a-z]$`);
    const availabilityZones = r.stringList("weatherAvailabilityZones", {
        default: [`${region}a`, `${region}c`],
        minItems: 2,
        item: (az) => (azPattern.test(az) ? undefined : `${JSON.stringify(az)} is not an AZ of ${region}`),
        itemExpected: `an availability zone of ${region}`,
        example: `["${region}a", "${region}c"]`,
    });
    const certificateArn = r.string("weatherCertificateArn", {
        pattern: arnPattern("acm", "certificate/"),
        expected: `an ACM certificate ARN (arn:aws:acm:${region}:<account>:certificate/<id>)`,
        example: `arn:aws:acm:${region}:123456789012:certificate/00000000-0000-0000-0000-000000000000`,
    });
    if (arnRegion(certificateArn) !== region && arnPattern("acm", "certificate/").test(certificateArn)) {
        r.fail(
            "weatherCertificateArn",
            `a certificate in the ALB's region ${region} (an ALB can only use certificates from its own region)`,
            certificateArn,
            `request or import the certificate in ${region} and set its ARN`,
        );
    }
    const imageUri = r.string("weatherImageUri", {
        optional: true,
        pattern: /^[\w.-]+(:\d+)?(\/[\w.-]+)+(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
        expected: "a container image reference with a tag or digest (<registry>/<repo>:<tag>)",
        example: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/weather-app:1.4.2",
    });
    const appPath = r.string("weatherAppPath", { optional: true, example: "../weather-comment-generator" });
    if (imageUri === undefined && appPath === undefined) {
        r.fail(
            "weatherAppPath",
            "the app source directory to build the image from (or weatherImageUri for a prebuilt image)",
            undefined,
            `${r.setCommand("weatherAppPath", "../weather-comment-generator")} or ` +
                r.setCommand("weatherImageUri", "<registry>/<repo>:<tag>"),
        );
    }
    const minTasks = r.integer("weatherMinTasks", { default: d.minTasks, min: 1, max: 20 });
    const maxTasks = r.integer("weatherMaxTasks", { default: d.maxTasks, min: 1, max: 20 });
    if (maxTasks < minTasks) {
        r.fail(
            "weatherMaxTasks",
            `a value ≥ weatherMinTasks (${minTasks})`,
            String(maxTasks),
            r.setCommand("weatherMaxTasks", String(Math.max(minTasks, d.maxTasks))),
        );
    }
    return {
        region,
        vpcCidr: r.string("weatherVpcCidr", {
            default: d.vpcCidr,
            pattern: CIDR16_TO_24,
            expected: "an IPv4 CIDR block from /16 to /24",
            example: d.vpcCidr,
        }),
        availabilityZones,
        natGateways: r.oneOf("weatherNatGateways", ["single", "perAz"] as const, { default: d.natGateways }),
        certificateArn,
        imageUri,
        appPath: imageUri === undefined ? appPath : undefined,
        logRetentionDays: r.logRetention("weatherLogRetentionDays", d.logRetentionDays),
        minTasks,
        maxTasks,
        cpuTargetPercent: r.integer("weatherCpuTargetPercent", { default: d.cpuTargetPercent, min: 10, max: 95 }),
        memoryTargetPercent: r.integer("weatherMemoryTargetPercent", {
            default: d.memoryTargetPercent,
            min: 10,
            max: 95,
        }),
        healthCheckGraceSeconds: r.integer("weatherHealthCheckGraceSeconds", {
            default: d.healthCheckGraceSeconds,
            min: 0,
            max: 7200,
        }),
        idleTimeoutSeconds: r.integer("weatherIdleTimeoutSeconds", {
            default: d.idleTimeoutSeconds,
            min: 1,
            max: 4000,
        }),
        apiHealthCheckPath: r.string("weatherApiHealthCheckPath", {
            default: d.apiHealthCheckPath,
            pattern: /^\/[\w./-]*$/,
            expected: "an absolute URL path answered with 200 by the FastAPI server",
            example: d.apiHealthCheckPath,
        }),
    };
}

/** Whether `p` is a directory (false when it does not exist or cannot be read). */
function isDirectory(p: string): boolean {
    try {
        return fs.statSync(p).isDirectory();
    } catch {
        return false;
    }
}

/**
 * The weather image's build context must be a directory on the deploying machine: docker-build refuses anything
 * else ("<path>: not a valid directory or URL", pulumi-docker-build provider/internal/context.go), and only once
 * the ECR repository exists, mid-deploy. A relative `weatherAppPath` starts at `projectDir`, where the Pulumi CLI
 * runs the program and the provider. Returns the problem, or undefined when the image is prebuilt or the directory
 * exists.
 */
export function weatherAppPathProblem(
    weather: WeatherConfig,
    stack: string,
    projectDir: string,
): ConfigProblem | undefined {
    if (weather.imageUri !== undefined || weather.appPath === undefined) return undefined;
    const dir = path.resolve(projectDir, weather.appPath);
    if (isDirectory(dir)) return undefined;
    const state = fs.existsSync(dir) ? "is not a directory" : "does not exist";
    return configProblem(
        "weatherAppPath",
        `a directory holding the weather app source, the image's build context (${dir} ${state}; ` +
            "a relative path starts at the project directory)",
        weather.appPath,
        `clone the app there, or pulumi config set weatherAppPath <directory> --stack ${stack}, or build ` +
            `elsewhere and pulumi config set weatherImageUri <registry>/<repo>:<tag> --stack ${stack}`,
    );
}
