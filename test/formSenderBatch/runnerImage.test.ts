/**
 * The runner image as the stacks build it: a content-derived tag in an immutable repository, and a pinned Chromium.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { runnerImageTag, RUNNER_PLATFORM } from "../../components/formSender/image";
import { contentTag, dockerfileContextSources } from "../../components/imageTag";
import { planFor } from "../harness";

const ROOT = path.resolve(__dirname, "..", "..");
const DOCKERFILE = path.join(ROOT, "containers", "runner", "Dockerfile");

describe("runner image", function () {
    this.timeout(120000);

    // pulumi/pulumi-awsx awsx/ecr/image.ts: `imageName = args.imageName ? … : imageTag ? imageTag :
    // createUniqueImageName(dockerInputs)`, and createUniqueImageName hashes the context and Dockerfile *paths*, the
    // build args and the stack name: the same tag for every build from one checkout. ECR refuses to overwrite a tag in
    // an IMMUTABLE repository (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html; the
    // push fails with "tag invalid: The image tag '…' already exists …", aws/containers-roadmap#862).
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: tags the runner image from its content, in an immutable repository`, async () => {
            const plan = await planFor(stack);
            const repo = plan.inputs<{ imageTagMutability: string }>(
                "aws:ecr/repository:Repository",
                "form-sender-runner",
            );
            assert.equal(repo.imageTagMutability, "IMMUTABLE");
            const image = plan.inputs<{ imageTag: string; platform: string; dockerfile: string }>(
                "awsx:ecr:Image",
                "form-sender-runner-image",
            );
            const dockerfile = fs.readFileSync(DOCKERFILE, "utf8");
            assert.equal(image.platform, RUNNER_PLATFORM);
            assert.equal(path.resolve(image.dockerfile), DOCKERFILE);
            assert.equal(
                image.imageTag,
                contentTag({
                    root: ROOT,
                    paths: dockerfileContextSources(dockerfile),
                    extra: { dockerfile, platform: "linux/amd64" },
                }),
            );
            assert.match(image.imageTag, /^content-[0-9a-f]{20}$/);
            assert.equal(runnerImageTag(), image.imageTag);
            // What the image is built from: the runner and the function modules it compiles in.
            const sources = dockerfileContextSources(dockerfile);
            for (const p of ["containers/runner/src/", "functions/formSender/", "package-lock.json"])
                assert.ok(sources.includes(p), p);
        });
    }

    // apt-get(8): "A specific version of a package can be selected for installation by following the package name
    // with an equals and the version of the package to select." Debian version syntax (deb-version(7)):
    // [epoch:]upstream_version[-debian_revision].
    it("pins Debian's chromium-headless-shell (the runner's browser) to an explicit version in the final stage", () => {
        const text = fs.readFileSync(DOCKERFILE, "utf8").replace(/\\\n/g, " ");
        const finalStage = text.slice(text.lastIndexOf("\nFROM "));
        const run = finalStage.split("\n").find((l) => l.includes("apt-get install")) ?? "";
        const install = /apt-get install ([^&]*)/.exec(run)?.[1] ?? "";
        const pin = /(?:^|\s)chromium-headless-shell=(\S+)/.exec(install)?.[1];
        assert.ok(pin, `no chromium-headless-shell=<version> in: ${install}`);
        assert.match(pin, /^(\d+:)?\d[\w.+~]*-[\w.+~]+$/);
        // Every chromium package the command names (chromium-headless-shell, chromium-common) at that same version;
        // not the full browser (the runner never starts it, and the image's CHROMIUM_PATH names the shell).
        const chromiumPackages = install.split(/\s+/).filter((w) => /^chromium(-[a-z-]+)?(=|$)/.test(w));
        assert.ok(chromiumPackages.length >= 2, install);
        assert.ok(!chromiumPackages.some((p) => /^chromium(=|$)/.test(p)), install);
        assert.match(finalStage, /CHROMIUM_PATH=\/usr\/bin\/chromium-headless-shell\b/);
        for (const p of chromiumPackages) assert.match(p, new RegExp(`=${pin.replace(/[.+~]/g, "\\$&")}$`), p);
        // The live security archive keeps only its newest build: the pin is installable only from a dated
        // snapshot of it (snapshot.debian.org/archive/<archive>/<YYYYMMDDTHHMMSSZ>).
        assert.match(
            run,
            /deb \[check-valid-until=no\] http:\/\/snapshot\.debian\.org\/archive\/debian-security\/\d{8}T\d{6}Z bookworm-security main/,
        );
    });
});
