/**
 * gas/form-sender/appsscript.json asks for exactly the OAuth scopes the package's Apps Script services need,
 * and no broader one. Explicit scopes replace Apps Script's detection, so a missing one fails at run time and
 * a broader one grants more than the package uses; "use the narrowest scopes possible"
 * (https://developers.google.com/apps-script/concepts/scopes#setting_explicit_scopes).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { GAS_FILES } from "./appsScript";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Each service call the package may make, and the scope Google's reference names for it. */
const SERVICE_SCOPES: [RegExp, string | null, string][] = [
    // "This service requires the https://www.googleapis.com/auth/script.external_request scope"
    // (https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app).
    [/\bUrlFetchApp\.fetch(All)?\(/, "https://www.googleapis.com/auth/script.external_request", "UrlFetchApp"],
    // Triggers: Apps Script's own refusal without it reads "You do not have permission to call
    // ScriptApp.newTrigger. Required permissions: https://www.googleapis.com/auth/script.scriptapp"
    // (quoted in github.com/ttsukagoshi/mail-merge-for-gmail/issues/129; method reference:
    // https://developers.google.com/apps-script/reference/script/script-app#newTrigger(String)).
    [
        /\bScriptApp\.(newTrigger|getProjectTriggers|deleteTrigger)\(/,
        "https://www.googleapis.com/auth/script.scriptapp",
        "ScriptApp",
    ],
    // The bound spreadsheet only: the currentonly scope covers getActiveSpreadsheet() of the container
    // (https://developers.google.com/apps-script/guides/services/authorization, "@OnlyCurrentDoc").
    [
        /\bSpreadsheetApp\.getActiveSpreadsheet\(/,
        "https://www.googleapis.com/auth/spreadsheets.currentonly",
        "SpreadsheetApp",
    ],
    // No scope: PropertiesService, LockService, Utilities, console.
    [/\b(PropertiesService|LockService|Utilities)\./, null, "no-scope services"],
];

describe("gas/form-sender/appsscript.json", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "gas/form-sender/appsscript.json"), "utf8")) as {
        runtimeVersion: string;
        oauthScopes: string[];
    };
    const code = GAS_FILES.map((f) => fs.readFileSync(path.join(ROOT, f), "utf8")).join("\n");

    it("runs on V8 and asks for exactly the scopes of the services the package calls", () => {
        assert.equal(manifest.runtimeVersion, "V8");
        const needed = new Set<string>();
        for (const [pattern, scope, what] of SERVICE_SCOPES) {
            assert.match(code, pattern, `the package calls ${what}`);
            if (scope) needed.add(scope);
        }
        assert.deepEqual([...manifest.oauthScopes].sort(), [...needed].sort());
    });

    it("calls no service beyond those, so no broader scope is needed", () => {
        const services = new Set([...code.matchAll(/\b([A-Z][A-Za-z]*App|[A-Z][A-Za-z]*Service)\./g)].map((m) => m[1]));
        assert.deepEqual([...services].sort(), [
            "LockService",
            "PropertiesService",
            "ScriptApp",
            "SpreadsheetApp",
            "UrlFetchApp",
        ]);
        // openById/openByUrl would need the full spreadsheets scope; the package reaches only its container.
        assert.doesNotMatch(code, /SpreadsheetApp\.(openById|openByUrl|open)\(/);
    });
});
