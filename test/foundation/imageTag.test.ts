import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contentTag, dockerfileContextSources } from "../../components/imageTag";

const ROOT = path.resolve(__dirname, "..", "..");

describe("content-derived image tags", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "image-tag-"));
        fs.mkdirSync(path.join(dir, "src", "lib"), { recursive: true });
        fs.writeFileSync(path.join(dir, "src", "a.ts"), "a");
        fs.writeFileSync(path.join(dir, "src", "lib", "b.ts"), "b");
        fs.writeFileSync(path.join(dir, "other.txt"), "x");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const tag = (extra: Record<string, string> = { dockerfile: "FROM scratch" }, paths = ["src"]) =>
        contentTag({ root: dir, paths, extra });

    it("is stable for the same content and changes with any file's bytes, name or the build inputs", () => {
        const first = tag();
        assert.match(first, /^content-[0-9a-f]{20}$/);
        assert.equal(tag(), first);
        fs.writeFileSync(path.join(dir, "src", "lib", "b.ts"), "b2");
        const changed = tag();
        assert.notEqual(changed, first);
        fs.renameSync(path.join(dir, "src", "lib", "b.ts"), path.join(dir, "src", "lib", "c.ts"));
        assert.notEqual(tag(), changed);
        assert.notEqual(tag({ dockerfile: "FROM scratch", arg: "1" }), tag());
    });

    it("ignores files outside the given paths and version-control metadata", () => {
        const first = tag();
        fs.writeFileSync(path.join(dir, "other.txt"), "y");
        fs.mkdirSync(path.join(dir, "src", ".git"));
        fs.writeFileSync(path.join(dir, "src", ".git", "HEAD"), "ref");
        assert.equal(tag(), first);
        assert.notEqual(tag(undefined, ["."]), first);
    });

    it("names a path that does not exist", () => {
        assert.throws(() => tag(undefined, ["missing"]), {
            message: `image content: ${path.join(dir, "missing")} does not exist`,
        });
    });

    it("reads the build-context sources of COPY and ADD, skipping copies from other stages", () => {
        const text =
            "FROM a AS b\nCOPY x.json y.json ./\nCOPY --chown=1:1 src/ \\\n  dest/\nCOPY --from=b /app /app\nADD z /z\n";
        assert.deepEqual(dockerfileContextSources(text), ["x.json", "y.json", "src/", "z"]);
    });

    it("the runner's Dockerfile.dockerignore lets in exactly what its Dockerfile copies", () => {
        const dockerfile = fs.readFileSync(path.join(ROOT, "containers", "runner", "Dockerfile"), "utf8");
        const ignore = fs
            .readFileSync(path.join(ROOT, "containers", "runner", "Dockerfile.dockerignore"), "utf8")
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l !== "" && !l.startsWith("#"));
        assert.equal(ignore[0], "*");
        const allowed = ignore.slice(1).map((l) => l.replace(/^!/, ""));
        assert.deepEqual([...new Set(dockerfileContextSources(dockerfile))].sort(), [...allowed].sort());
    });
});
