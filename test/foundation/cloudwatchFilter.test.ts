import { strict as assert } from "assert";
import { FilterPatternError, matchesFilterPattern } from "../support/cloudwatchFilter";

// Sources cited by each row (the rows reuse their example patterns and events verbatim where they give them):
//   [TERMS]   https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#matching-terms-unstructured-log-events
//   [JSON]    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html
//   [EARLIER] the earlier revision of FilterAndPatternSyntax.html, as published from
//             https://github.com/awsdocs/amazon-cloudwatch-logs-user-guide/blob/master/doc_source/FilterAndPatternSyntax.md
// "derived" marks a row that applies a quoted rule to an event the page does not list.

interface Row {
    readonly source: string;
    readonly pattern: string;
    readonly event: string;
    readonly matches: boolean;
}

function run(rows: readonly Row[]): void {
    for (const { source, pattern, event, matches } of rows) {
        it(`${matches ? "matches" : "does not match"} ${pattern} against ${event} (${source})`, () => {
            assert.equal(matchesFilterPattern(pattern, event), matches);
        });
    }
}

/** Builds rows for one pattern: the events it matches and those it does not. */
function rowsFor(source: string, pattern: string, matching: readonly string[], other: readonly string[] = []): Row[] {
    return [
        ...matching.map((event) => ({ source, pattern, event, matches: true })),
        ...other.map((event) => ({ source, pattern, event, matches: false })),
    ];
}

const E400 = "[ERROR 400] BAD REQUEST";
const E401 = "[ERROR 401] UNAUTHORIZED REQUEST";
const E419 = "[ERROR 419] MISSING ARGUMENTS";
const E420 = "[ERROR 420] INVALID ARGUMENTS";
const E500 = "[ERROR 500] INTERNAL SERVER ERROR";

// [JSON] "If you test an example filter pattern with the example JSON log event, you must enter the example JSON log
// on a single line." — hence JSON.stringify of the page's events.
const JSON_EVENT = JSON.stringify({
    eventType: "UpdateTrail",
    sourceIPAddress: "111.111.111.111",
    arrayKey: ["value", "another value"],
    objectList: [
        { name: "a", id: 1 },
        { name: "b", id: 2 },
    ],
    SomeObject: null,
    "cluster.name": "c",
});

const EARLIER_JSON_EVENT = JSON.stringify({
    eventType: "UpdateTrail",
    sourceIPAddress: "111.111.111.111",
    arrayKey: ["value", "another value"],
    objectList: [
        { name: "a", id: 1 },
        { name: "b", id: 2 },
    ],
    SomeObject: null,
    ThisFlag: true,
});

const COMPOUND_EVENT = JSON.stringify({
    user: { id: 1, email: "John.Stiles@example.com" },
    users: [
        { id: 2, email: "John.Doe@example.com" },
        { id: 3, email: "Jane.Doe@example.com" },
    ],
    actions: ["GET", "PUT", "DELETE"],
    coordinates: [
        [0, 1, 2],
        [4, 5, 6],
        [7, 8, 9],
    ],
});

// What the nodejs22.x runtime writes, with the Text log format, for
// console.log('{"level":"info","message":"execution failed"}'): timestamp, request id, level, message, tab-separated.
const LAMBDA_MESSAGE = '{"level":"info","message":"execution failed"}';
const LAMBDA_TEXT_LINE = `2026-01-01T00:00:00.000Z\tc793869b-ee49-115b-a5b6-4fd21e8dedac\tINFO\t${LAMBDA_MESSAGE}`;

describe("CloudWatch Logs filter pattern evaluator", () => {
    describe("the empty pattern", () => {
        run([
            { source: "[EARLIER] Example 1: Match everything", pattern: "", event: E400, matches: true },
            { source: "[EARLIER] Example 1: Match everything", pattern: '""', event: E400, matches: true },
            { source: "[TERMS] Example: Match everything", pattern: '" "', event: E400, matches: true },
            { source: "[TERMS] Example: Match everything", pattern: '" "', event: "nospaces", matches: true },
        ]);
    });

    describe("unstructured terms", () => {
        run([
            ...rowsFor("[TERMS] Example: Match a single term", "ERROR", [E400, E401, E419, E420]),
            ...rowsFor("[TERMS] Example: Match multiple terms", "ERROR ARGUMENTS", [E419, E420], [E400, E401]),
            ...rowsFor("[TERMS] Example: Match optional terms", "?ERROR ?ARGUMENTS", [E400, E401, E419, E420]),
            ...rowsFor("[TERMS] Match optional terms (sub-page)", "?ERROR ?ARGUMENTS", [
                "[INFO] INVALID ARGUMENTS PROVIDED",
            ]),
            ...rowsFor(
                "derived: ?ERROR ?ARGUMENTS needs one of them",
                "?ERROR ?ARGUMENTS",
                [],
                ["[INFO] REQUEST FAILED"],
            ),
            ...rowsFor("[TERMS] ? combined with other terms is ignored", "?ERROR ?ARGUMENTS REQUEST", [
                "[INFO] REQUEST FAILED",
                "[WARN] UNAUTHORIZED REQUEST",
                "[ERROR] 400 BAD REQUEST",
            ]),
            ...rowsFor("derived: ? terms ignored, REQUEST required", "?ERROR ?ARGUMENTS REQUEST", [], [E419]),
            ...rowsFor("derived: ? terms ignored beside an exclusion", "?ERROR -ARGUMENTS", ["[INFO] OK"], [E419]),
            ...rowsFor("[TERMS] Example: Match exact phrases", '"INTERNAL SERVER ERROR"', [E500]),
            ...rowsFor(
                "derived: a phrase keeps its word order",
                '"INTERNAL SERVER ERROR"',
                [],
                ["[ERROR 500] SERVER INTERNAL ERROR"],
            ),
            ...rowsFor("[TERMS] Example: Include and exclude terms", "ERROR -ARGUMENTS", [E400, E401], [E419, E420]),
            ...rowsFor("derived: an exclusion alone", "-ARGUMENTS", [E400, E401], [E419, E420]),
            ...rowsFor("derived: filter patterns are case sensitive", "error", [], [E400]),
            ...rowsFor("derived: filter patterns are case sensitive", "Error", [], [E400]),
            ...rowsFor("[EARLIER] Example 2: Single term (inside a longer word)", "ERROR", [
                "[ERROR] A fatal exception has occurred",
                "Exiting with ERRORCODE: -1",
            ]),
            ...rowsFor(
                "[EARLIER] Example 3: Include a term and exclude a term",
                '"ERROR" -"Exiting"',
                ["[ERROR] A fatal exception has occurred"],
                ["Exiting with ERRORCODE: -1"],
            ),
            ...rowsFor("[EARLIER] Example 4: Multiple terms", "ERROR Exception", [
                "[ERROR] Caught IllegalArgumentException",
                "[ERROR] Unhandled Exception",
            ]),
            ...rowsFor("[EARLIER] Example 4: Multiple terms", "Failed to process the request", [
                "[WARN] Failed to process the request",
                "[ERROR] Unable to continue: Failed to process the request",
            ]),
            ...rowsFor(
                "[EARLIER] OR Pattern Matching",
                "ERROR",
                ["ERROR WARN message", "ERROR message"],
                ["WARN message"],
            ),
            ...rowsFor("[EARLIER] OR Pattern Matching", "?ERROR ?WARN", [
                "ERROR WARN message",
                "ERROR message",
                "WARN message",
            ]),
            ...rowsFor(
                "[EARLIER] OR Pattern Matching",
                "ERROR WARN",
                ["ERROR WARN message"],
                ["ERROR message", "WARN message"],
            ),
            ...rowsFor(
                "[EARLIER] OR Pattern Matching",
                "ERROR -WARN",
                ["ERROR message"],
                ["ERROR WARN message", "WARN message"],
            ),
        ]);
    });

    describe("JSON patterns", () => {
        run([
            ...rowsFor("[JSON] Monitor application events by type", '{ $.eventType = "UpdateTrail" }', [JSON_EVENT]),
            ...rowsFor("[JSON] Block suspicious IP addresses", "{ $.sourceIPAddress != 123.123.* }", [JSON_EVENT]),
            ...rowsFor("derived: prefix wildcard", "{ $.sourceIPAddress = 111.111.* }", [JSON_EVENT]),
            ...rowsFor("[JSON] Track specific application events", '{ $.arrayKey[0] = "value" }', [JSON_EVENT]),
            ...rowsFor("[JSON] Handle JSON properties with special characters", "{ $.['cluster.name'] = \"c\" }", [
                JSON_EVENT,
            ]),
            ...rowsFor("[JSON] Find null or missing values", "{ $.SomeObject IS NULL }", [JSON_EVENT]),
            ...rowsFor("[JSON] Detect missing configuration fields", "{ $.SomeOtherObject NOT EXISTS }", [JSON_EVENT]),
            ...rowsFor(
                "derived: NOT EXISTS fails for a present field",
                "{ $.SomeObject NOT EXISTS }",
                [],
                [JSON_EVENT],
            ),
            ...rowsFor("[EARLIER] JSON Metric Filter Examples", "{ $.objectList[1].id = 2 }", [EARLIER_JSON_EVENT]),
            ...rowsFor("[EARLIER] JSON Metric Filter Examples", "{ $.ThisFlag IS TRUE }", [EARLIER_JSON_EVENT]),
            ...rowsFor("derived: IS FALSE on a true flag", "{ $.ThisFlag IS FALSE }", [], [EARLIER_JSON_EVENT]),
            ...rowsFor("derived: a missing field is not null", "{ $.Missing IS NULL }", [], [EARLIER_JSON_EVENT]),
            ...rowsFor(
                "[EARLIER] if objectList is not an array this will be false",
                "{ $.eventType[0] = 2 }",
                [],
                [EARLIER_JSON_EVENT],
            ),
            ...rowsFor(
                "[EARLIER] items without an id property: false",
                "{ $.arrayKey[1].id = 2 }",
                [],
                [EARLIER_JSON_EVENT],
            ),
            ...rowsFor(
                "[EARLIER] OR pattern matching in JSON filters",
                "{$.foo = bar}",
                ['{"foo": "bar"}'],
                ['{"foo": "baz"}'],
            ),
            ...rowsFor(
                "[EARLIER] OR pattern matching in JSON filters",
                "{$.foo = baz }",
                ['{"foo": "baz"}'],
                ['{"foo": "bar"}'],
            ),
            ...rowsFor("[EARLIER] OR pattern matching in JSON filters", "{$.foo = bar || $.foo = baz }", [
                '{"foo": "bar"}',
                '{"foo": "baz"}',
            ]),
            ...rowsFor("[EARLIER] *Event will match PutEvent and GetEvent", "{ $.name = *Event }", [
                '{"name": "PutEvent"}',
                '{"name": "GetEvent"}',
            ]),
            ...rowsFor("[EARLIER] Event* will match EventId and EventName", "{ $.name = Event* }", [
                '{"name": "EventId"}',
                '{"name": "EventName"}',
            ]),
            ...rowsFor(
                "[EARLIER] Ev*ent will only match the actual string Ev*ent",
                "{ $.name = Ev*ent }",
                ['{"name": "Ev*ent"}'],
                ['{"name": "Event"}'],
            ),
            ...rowsFor("derived: a wildcard in double quotes", '{ $.name = "*Event" }', ['{"name": "PutEvent"}']),
            ...rowsFor("derived: string equality is exact", '{ $.eventType = "Update" }', [], [JSON_EVENT]),
            ...rowsFor(
                "derived: string equality is case sensitive",
                '{ $.eventType = "updatetrail" }',
                [],
                [JSON_EVENT],
            ),
            ...rowsFor("[EARLIER] selector pointing to an array", "{$.users = 1}", [], ['{"users": [1, 2, 3]}']),
            ...rowsFor("[EARLIER] selector pointing to an array", "{$.users != 1}", [], ['{"users": [1, 2, 3]}']),
            ...rowsFor("derived: != on a missing field", '{ $.missing != "x" }', [], [JSON_EVENT]),
            ...rowsFor("derived: a string is not a number", '{ $.errorCode = "400" }', [], ['{"errorCode": 400}']),
        ]);
    });

    describe("JSON numeric comparisons", () => {
        run([
            ...rowsFor("[JSON] greater than", "{ $.bandwidth > 75 }", ['{"bandwidth": 76}'], ['{"bandwidth": 75}']),
            ...rowsFor("[JSON] less than", "{ $.latency < 50 }", ['{"latency": 49.5}'], ['{"latency": 50}']),
            ...rowsFor(
                "[JSON] greater than or equal",
                "{ $.refreshRate >= 60 }",
                ['{"refreshRate": 60}'],
                ['{"refreshRate": 59}'],
            ),
            ...rowsFor(
                "[JSON] less than or equal",
                "{ $.responseTime <= 5 }",
                ['{"responseTime": 5}'],
                ['{"responseTime": 6}'],
            ),
            ...rowsFor("[JSON] equal sign", "{ $.errorCode = 400}", ['{"errorCode": 400}'], ['{"errorCode": 401}']),
            ...rowsFor(
                "[JSON] not equal sign",
                "{ $.errorCode != 500 }",
                ['{"errorCode": 400}'],
                ['{"errorCode": 500}'],
            ),
            ...rowsFor(
                "[JSON] scientific notation and plus",
                "{ $.number[0] = 1e+3 }",
                ['{"number": [1000]}'],
                ['{"number": [100]}'],
            ),
            ...rowsFor(
                "[JSON] scientific notation and minus",
                "{ $.number[0] != 1e-3 }",
                ['{"number": [1]}'],
                ['{"number": [0.001]}'],
            ),
            ...rowsFor("[EARLIER] Numeric Comparisons", "{ $.numbers[0] < 10e3 }", ['{"numbers": [9999]}']),
            ...rowsFor("[EARLIER] Numeric Comparisons", "{ $.processes[4].averageRuntime <= 55.5 }", [
                '{"processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}]}',
            ]),
            ...rowsFor(
                "[EARLIER] Numeric Comparisons",
                "{ $.latency > +1000 }",
                ['{"latency": 1001}'],
                ['{"latency": 1000}'],
            ),
            ...rowsFor(
                "[EARLIER] metricFilter: { $.latency = * }",
                "{ $.latency = * }",
                ['{"latency": 12}'],
                ['{"other": 12}'],
            ),
            ...rowsFor("derived: a number is not a string", "{ $.latency > 5 }", [], ['{"latency": "10"}']),
        ]);
    });

    describe("JSON compound expressions", () => {
        run([
            ...rowsFor(
                "[JSON] Monitor specific user actions",
                '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }',
                [COMPOUND_EVENT],
            ),
            ...rowsFor(
                "[JSON] Alert on any suspicious activity",
                '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }',
                [COMPOUND_EVENT],
            ),
            ...rowsFor(
                "[JSON] Require multiple conditions for alerts",
                '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }',
                [],
                [COMPOUND_EVENT],
            ),
            ...rowsFor(
                "[JSON] Monitor failed correlation attempts",
                '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }',
                [],
                [COMPOUND_EVENT],
            ),
            ...rowsFor(
                "[EARLIER] JSON Compound Conditions",
                '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }',
                [COMPOUND_EVENT],
            ),
            ...rowsFor(
                "[EARLIER] JSON Compound Conditions",
                '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }',
                [],
                [COMPOUND_EVENT],
            ),
            ...rowsFor("derived: nested array element", "{ $.coordinates[2][0] = 7 && $.actions[1] = PUT }", [
                COMPOUND_EVENT,
            ]),
        ]);
    });

    describe("JSON patterns and events that are not JSON objects", () => {
        run([
            // The project's own case: a Lambda Text-format line is not a JSON event, the bare JSON line is.
            ...rowsFor(
                "project: Lambda Text format line",
                '{ $.message = "execution failed" }',
                [],
                [LAMBDA_TEXT_LINE],
            ),
            ...rowsFor("project: Lambda bare JSON line", '{ $.message = "execution failed" }', [LAMBDA_MESSAGE]),
            ...rowsFor("derived: a term pattern still finds the phrase", '"execution failed"', [LAMBDA_TEXT_LINE]),
            ...rowsFor(
                "derived: NOT EXISTS needs a JSON event",
                "{ $.anything NOT EXISTS }",
                [],
                [LAMBDA_TEXT_LINE, "plain text"],
            ),
            ...rowsFor("derived: a JSON array is not a JSON object event", "{ $.foo = bar }", [], ['[{"foo": "bar"}]']),
        ]);
    });

    describe("patterns it cannot read", () => {
        const cases: [string, string][] = [
            [
                "[ip, user, username, timestamp, request, status_code, bytes]",
                "unsupported: space-delimited patterns ([field, ...]) are not implemented",
            ],
            ["%AUTHORIZED%", "unsupported: regular expressions (%...%) are not implemented"],
            ["{ $.eventType = %Trail% }", "unsupported: regular expressions (%...%) are not implemented"],
            ["{ $.arrayKey[*] = %val.{2}% }", "unsupported: wildcard selectors ([*]) are not implemented"],
            ["{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }", "unsupported: wildcard selectors ($.*) are not implemented"],
            ["{ $.SomeObject IS NOT NULL }", "unsupported: CloudWatch Logs does not support IS NOT"],
            ["{ $.SomeObject EXISTS }", "unsupported: CloudWatch Logs does not support EXISTS (only NOT EXISTS)"],
            ["{ $.flag = true }", "unsupported: compare true with IS TRUE, not ="],
            ['{ $.path = "C:\\temp" }', "unsupported: backslashes in quoted strings (escaping is not documented)"],
            ['{ $.eventType = "UpdateTrail"', "malformed: expected } at offset 29"],
            ["{ $.eventType = }", "malformed: expected a value after = at offset 16"],
            ["{ ($.a = 1 }", "malformed: expected ) at offset 11"],
            ['{ eventType = "UpdateTrail" }', 'malformed: expected a property selector starting with "$." at offset 2'],
            ["{ $.latency > fast }", "malformed: > needs a number at offset 14"],
            ["{ $.latency != * }", "malformed: * can only be compared with = at offset 15"],
            ["{ $.a == 1 }", 'malformed: value "=" must be enclosed in double quotes at offset 7'],
            ["{ $.a = 1 } ERROR", "malformed: expected the end of the pattern after } at offset 12"],
            [
                "{ $.a is null }",
                "malformed: expected =, !=, <, >, <=, >=, IS or NOT EXISTS after the selector at offset 6",
            ],
            [
                "{ $.email = John@example.com }",
                'malformed: value "John@example.com" must be enclosed in double quotes at offset 12',
            ],
            ["{ $[0] = 1 }", "malformed: a selector must start with a property, as in $.name at offset 2"],
            ["{}", 'malformed: expected a property selector starting with "$." at offset 1'],
            ['"INTERNAL SERVER ERROR', "malformed: unterminated double quote at offset 0"],
            [
                "ERROR:",
                'malformed: term "ERROR:" has characters other than letters, digits and underscore; enclose it in double quotes',
            ],
            ['"ERROR" - "Exiting"', 'malformed: expected a term after "-"'],
            ['"ERROR"s', "malformed: expected a space after the closing quote at offset 7"],
        ];
        for (const [pattern, problem] of cases) {
            it(`rejects ${pattern}: ${problem}`, () => {
                assert.throws(
                    () => matchesFilterPattern(pattern, JSON_EVENT),
                    (e: unknown) => {
                        assert.ok(e instanceof FilterPatternError, `expected FilterPatternError, got ${String(e)}`);
                        assert.equal(e.message, `filter pattern ${JSON.stringify(pattern)}: ${problem}`);
                        return true;
                    },
                );
            });
        }
    });
});
