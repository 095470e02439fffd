/**
 * The weather image as the stacks build it: a tag derived from the app's content in the IMMUTABLE repository, and a
 * named fallback tag when the app's directory is not there.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contentTag } from "../../components/imageTag";
import { WEATHER_APP_MISSING_TAG, WEB_PLATFORM, weatherImageTag } from "../../components/weatherService";
import { planFor } from "../harness";

const ROOT = path.resolve(__dirname, "..", "..");
const DOCKERFILE = path.join(ROOT, "containers", "web", "Dockerfile");
const ENTRYPOINT = path.join(ROOT, "containers", "web", "entrypoint.py");

/** The awsx Image inputs these tests read. */
interface ImageInputs {
    context: string;
    dockerfile: string;
    platform: string;
    imageTag: string;
    args: { ENTRYPOINT_B64: string };
}

/** A minimal weather app source directory, as the Dockerfile expects it. */
function makeApp(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "weather-app-"));
    fs.writeFileSync(path.join(dir, "requirements.txt"), "streamlit==1.40.0\n");
    fs.writeFileSync(path.join(dir, "app.py"), "print('app')\n");
    fs.mkdirSync(path.join(dir, "src", "batch"), { recursive: true });
    fs.writeFileSync(path.join(dir, "src", "batch", "nightly_comments.py"), "print('batch')\n");
    return dir;
}

describe("weather image", function () {
    this.timeout(120000);
    const apps: string[] = [];
    after(() => {
        for (const dir of apps) fs.rmSync(dir, { recursive: true, force: true });
    });

    // pulumi/pulumi-awsx awsx/ecr/image.ts: without `imageTag` the tag is createUniqueImageName(), a hash of the
    // context and Dockerfile *paths*, the build args and the stack: the same tag for every build of changed content
    // from one checkout. ECR refuses to overwrite a tag in an IMMUTABLE repository
    // (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html; "tag invalid: The image tag
    // '…' already exists …", aws/containers-roadmap#862).
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: tags the image from the app's content, the Dockerfile, the entrypoint and the platform`, async () => {
            const app = makeApp();
            apps.push(app);
            const plan = await planFor(stack, { config: { weatherAppPath: app } });
            const repo = plan.inputs<{ imageTagMutability: string }>("aws:ecr/repository:Repository", "weather-repo");
            assert.equal(repo.imageTagMutability, "IMMUTABLE");
            const image = plan.inputs<ImageInputs>("awsx:ecr:Image", "weather-image");
            const entrypointB64 = fs.readFileSync(ENTRYPOINT).toString("base64");
            assert.equal(image.context, app);
            assert.equal(path.resolve(image.dockerfile), DOCKERFILE);
            assert.equal(image.platform, "linux/amd64");
            assert.equal(image.args.ENTRYPOINT_B64, entrypointB64);
            assert.equal(
                image.imageTag,
                contentTag({
                    root: app,
                    paths: ["."],
                    extra: {
                        dockerfile: fs.readFileSync(DOCKERFILE, "utf8"),
                        ENTRYPOINT_B64: entrypointB64,
                        platform: "linux/amd64",
                    },
                }),
            );
            assert.match(image.imageTag, /^content-[0-9a-f]{20}$/);
        });
    }

    it("changes the tag exactly when a file of the app changes, is added or is renamed", () => {
        const app = makeApp();
        apps.push(app);
        const first = weatherImageTag(app);
        assert.equal(weatherImageTag(app), first);
        fs.writeFileSync(path.join(app, "src", "batch", "nightly_comments.py"), "print('batch v2')\n");
        const edited = weatherImageTag(app);
        assert.notEqual(edited, first);
        fs.writeFileSync(path.join(app, "api_server.py"), "print('api')\n");
        const added = weatherImageTag(app);
        assert.notEqual(added, edited);
        fs.renameSync(path.join(app, "app.py"), path.join(app, "main.py"));
        assert.notEqual(weatherImageTag(app), added);
        assert.equal(WEB_PLATFORM, "linux/amd64");
    });

    it(`tags ${WEATHER_APP_MISSING_TAG} instead of failing the plan when the app directory does not exist`, async () => {
        const missing = path.join(os.tmpdir(), "weather-app-that-does-not-exist");
        assert.ok(!fs.existsSync(missing));
        assert.equal(weatherImageTag(missing), WEATHER_APP_MISSING_TAG);
        const file = path.join(makeApp(), "app.py");
        apps.push(path.dirname(file));
        assert.equal(weatherImageTag(file), WEATHER_APP_MISSING_TAG, "a file is no build context");
        const plan = await planFor("stg", { config: { weatherAppPath: missing } });
        const image = plan.inputs<ImageInputs>("awsx:ecr:Image", "weather-image");
        assert.equal(image.imageTag, "app-source-missing");
        assert.equal(image.context, missing);
    });
});
