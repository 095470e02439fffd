/**
 * Evaluates a CloudWatch Logs filter pattern against one log event message, the way a metric filter does, so tests
 * can tell whether an alarm built on a metric filter would fire on a real log line.
 *
 * Written from AWS's documentation, and every rule below quotes the page it comes from:
 *   [SYNTAX]  "Filter pattern syntax for metric filters, subscription filters, filter log events, and Live Tail",
 *             https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 *   [TERMS]   its section "Using filter patterns to match terms in unstructured log events",
 *             https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#matching-terms-unstructured-log-events
 *   [JSON]    its sub-page "Using filter patterns to match terms in JSON log events",
 *             https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html
 *   [EARLIER] the earlier revision of the same page, published from
 *             https://github.com/awsdocs/amazon-cloudwatch-logs-user-guide/blob/master/doc_source/FilterAndPatternSyntax.md
 *             (quoted where it states a rule the current page only shows by example).
 *
 * Supported: the empty pattern, unstructured terms (words, "exact phrases", ?optional, -excluded) and JSON patterns
 * (`$.a.b`, `$.a[0]`, `$.['dotted.key']`, =, !=, <, >, <=, >=, `*` wildcards, IS TRUE/FALSE/NULL, NOT EXISTS, &&, ||,
 * parentheses). Not supported, and rejected with a FilterPatternError rather than answered wrongly: regular
 * expressions (`%...%`), wildcard selectors (`$.*`, `[*]`), and space-delimited patterns (`[a, b=...]`).
 */

/** A filter pattern this evaluator cannot read: malformed, or a documented form it does not implement. */
export class FilterPatternError extends Error {
    constructor(pattern: string, problem: string) {
        super(`filter pattern ${JSON.stringify(pattern)}: ${problem}`);
        this.name = "FilterPatternError";
    }
}

/**
 * Whether CloudWatch Logs would count `event` (one log event message) as a match of `pattern`.
 * Throws FilterPatternError for a pattern it cannot read, whatever the event.
 */
export function matchesFilterPattern(pattern: string, event: string): boolean {
    const source = pattern.trim();
    // [EARLIER] "Example 1: Match everything — The filter pattern "" matches all log events."
    if (source === "") return true;
    switch (source[0]) {
        case "{":
            return matchesJson(new JsonPatternParser(source).parse(), event);
        case "[":
            throw new FilterPatternError(
                source,
                "unsupported: space-delimited patterns ([field, ...]) are not implemented",
            );
        case "%":
            throw new FilterPatternError(source, "unsupported: regular expressions (%...%) are not implemented");
        default:
            return matchesTerms(parseTerms(source), event);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Unstructured terms
// ---------------------------------------------------------------------------------------------------------------

type TermKind = "required" | "optional" | "excluded";

interface Term {
    readonly kind: TermKind;
    readonly text: string;
}

/** [TERMS] "Enclose exact phrases and terms that include non-alphanumeric characters in double quotation marks".
 *  [EARLIER] "Metric filter terms that include characters other than alphanumeric or underscore must be placed
 *  inside double quotes". A bare term outside this set is refused rather than guessed at. */
const BARE_TERM = /^[A-Za-z0-9_]+$/;

function parseTerms(source: string): Term[] {
    const terms: Term[] = [];
    let i = 0;
    while (i < source.length) {
        if (/\s/.test(source[i])) {
            i++;
            continue;
        }
        // [TERMS] "Place a question mark ("?") before the terms that you want to match" (optional terms);
        // "Place a minus symbol ("-") before the terms that you want to exclude".
        const prefix = source[i] === "?" || source[i] === "-" ? source[i] : "";
        const kind: TermKind = prefix === "?" ? "optional" : prefix === "-" ? "excluded" : "required";
        i += prefix.length;
        if (source[i] === '"') {
            const close = source.indexOf('"', i + 1);
            if (close < 0) throw new FilterPatternError(source, `malformed: unterminated double quote at offset ${i}`);
            const phrase = source.slice(i + 1, close);
            i = close + 1;
            if (i < source.length && !/\s/.test(source[i])) {
                throw new FilterPatternError(
                    source,
                    `malformed: expected a space after the closing quote at offset ${i}`,
                );
            }
            if (phrase.trim() === "") {
                // [TERMS] "Example: Match everything — You can match everything in your log events with double
                // quotation marks": the pattern `" "` returns all log events, so a blank phrase constrains nothing.
                if (prefix !== "") {
                    throw new FilterPatternError(source, `malformed: blank phrase after "${prefix}" at offset ${i}`);
                }
                continue;
            }
            terms.push({ kind, text: phrase });
            continue;
        }
        const end = source.slice(i).search(/\s/);
        const word = end < 0 ? source.slice(i) : source.slice(i, i + end);
        if (word === "") throw new FilterPatternError(source, `malformed: expected a term after "${prefix}"`);
        if (!BARE_TERM.test(word)) {
            throw new FilterPatternError(
                source,
                `malformed: term ${JSON.stringify(word)} has characters other than letters, digits and underscore; ` +
                    "enclose it in double quotes",
            );
        }
        terms.push({ kind, text: word });
        i += word.length;
    }
    return terms;
}

function matchesTerms(terms: readonly Term[], event: string): boolean {
    // [TERMS] "Filter patterns are case sensitive." A term matches where its text occurs anywhere in the message,
    // inside a longer word too: [EARLIER] "The filter pattern "ERROR" matches log event messages that contain this
    // term, such as ... Exiting with ERRORCODE: -1", and "ERROR Exception" matches
    // "[ERROR] Caught IllegalArgumentException". Exact phrases likewise: "INTERNAL SERVER ERROR" matches
    // "[ERROR 500] INTERNAL SERVER ERROR".
    const occurs = (term: Term): boolean => event.includes(term.text);
    const required = terms.filter((t) => t.kind === "required");
    const excluded = terms.filter((t) => t.kind === "excluded");
    const optional = terms.filter((t) => t.kind === "optional");
    // [TERMS] "You can't combine the question mark ("?") with other filter patterns, such as include and exclude
    // terms. If you combine "?" with other filter patterns, all question mark terms will be ignored."
    if (required.length > 0 || excluded.length > 0) {
        // [TERMS] multiple terms: messages must "contain the words ERROR and ARGUMENTS"; an excluded term must not
        // occur ("ERROR -ARGUMENTS" doesn't return messages "because they contain the word ARGUMENTS").
        return required.every(occurs) && !excluded.some(occurs);
    }
    // [TERMS] "?ERROR ?ARGUMENTS" returns log events "where messages contain the word ERROR or the word ARGUMENTS".
    return optional.length === 0 || optional.some(occurs);
}

// ---------------------------------------------------------------------------------------------------------------
// JSON patterns
// ---------------------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A property name, or an array index. */
type Segment = string | number;

type Operator = "=" | "!=" | "<" | ">" | "<=" | ">=";

type Operand = { kind: "any" } | { kind: "number"; value: number } | { kind: "string"; value: string };

type Expr =
    | { kind: "and" | "or"; left: Expr; right: Expr }
    | { kind: "compare"; selector: Segment[]; op: Operator; operand: Operand }
    | { kind: "is"; selector: Segment[]; value: boolean | null }
    | { kind: "notExists"; selector: Segment[] };

/** Longest first, so that "<=" is not read as "<". */
const OPERATORS: readonly Operator[] = ["!=", "<=", ">=", "=", "<", ">"];

/** [EARLIER] NUMBER: "An integer with an optional + or - sign, a decimal with an optional + or - sign, or a number
 *  in scientific notation, which is an integer or a decimal with an optional + or - sign, followed by 'e', followed
 *  by an integer with an optional + or - sign." */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** [JSON] "Strings that contain types other than alphanumeric characters and the underscore symbol must be placed in
 *  double quotation marks" — yet the page's own example `{ $.sourceIPAddress != 123.123.* }` leaves dots and `*`
 *  bare, so those are accepted too; anything else bare is refused. */
const BARE_STRING = /^[A-Za-z0-9_.*-]+$/;

/** [JSON] "Property selectors are alphanumeric strings that support hyphen ("-") and underscore ("_") characters." */
const PROPERTY = /[A-Za-z0-9_-]+/y;
const INDEX = /\d+/y;
const WORD = /[A-Za-z]+/y;
const BARE_VALUE = /[^\s()&|}]+/y;

/** Recursive descent over the grammar
 *    pattern := "{" or "}";  or := and ("||" and)*;  and := primary ("&&" primary)*;
 *    primary := "(" or ")" | selector (operator operand | "IS" (TRUE | FALSE | NULL) | "NOT" "EXISTS")
 *  [JSON] "Compound expressions support parentheses ("()") and follow standard order of operations: () > && > ||." */
class JsonPatternParser {
    private pos = 0;

    constructor(private readonly source: string) {}

    parse(): Expr {
        // [JSON] "Enclose filter patterns in curly braces ("{}")."
        this.expect("{");
        const expr = this.parseOr();
        this.expect("}");
        this.skipSpace();
        if (this.pos < this.source.length) this.fail("expected the end of the pattern after }");
        return expr;
    }

    private parseOr(): Expr {
        let left = this.parseAnd();
        while (this.eat("||")) left = { kind: "or", left, right: this.parseAnd() };
        return left;
    }

    private parseAnd(): Expr {
        let left = this.parsePrimary();
        while (this.eat("&&")) left = { kind: "and", left, right: this.parsePrimary() };
        return left;
    }

    private parsePrimary(): Expr {
        if (this.eat("(")) {
            const inner = this.parseOr();
            this.expect(")");
            return inner;
        }
        const selector = this.parseSelector();
        this.skipSpace();
        const keyword = this.peek(WORD);
        if (keyword === "IS") {
            this.pos += keyword.length;
            this.skipSpace();
            // [JSON] "The IS variable can match fields that contain the values NULL, TRUE, or FALSE."
            const value = this.read(WORD);
            if (value === "TRUE" || value === "FALSE" || value === "NULL") {
                return { kind: "is", selector, value: value === "NULL" ? null : value === "TRUE" };
            }
            // [JSON] "The variables IS NOT and EXISTS currently aren't supported."
            if (value === "NOT") this.unsupported("CloudWatch Logs does not support IS NOT");
            this.fail("expected TRUE, FALSE or NULL after IS");
        }
        if (keyword === "NOT") {
            this.pos += keyword.length;
            this.skipSpace();
            // [JSON] "You can create filter patterns with the NOT EXISTS variable to return JSON logs that don't
            // contain specific fields in the log data."
            if (this.read(WORD) !== "EXISTS") this.fail("expected EXISTS after NOT");
            return { kind: "notExists", selector };
        }
        if (keyword === "EXISTS") this.unsupported("CloudWatch Logs does not support EXISTS (only NOT EXISTS)");
        const op = OPERATORS.find((candidate) => this.source.startsWith(candidate, this.pos));
        if (op === undefined) this.fail("expected =, !=, <, >, <=, >=, IS or NOT EXISTS after the selector");
        this.pos += op.length;
        return { kind: "compare", selector, op, operand: this.parseOperand(op) };
    }

    /** [JSON] "Set off property selectors with a dollar sign followed by a period ("$.")." Array elements: "Place
     *  arrays after property selectors ... Enclose elements in brackets ("[]")"; "If the JSON property contains a
     *  period ("."), then the bracket notation may be used to select that property": `$.['cluster.name']`. */
    private parseSelector(): Segment[] {
        this.skipSpace();
        const start = this.pos;
        if (!this.source.startsWith("$", this.pos)) this.fail('expected a property selector starting with "$."');
        this.pos++;
        const segments: Segment[] = [];
        for (;;) {
            const c = this.source[this.pos];
            if (c === ".") {
                this.pos++;
                if (this.source[this.pos] === "[") continue;
                if (this.source[this.pos] === "*") this.unsupported("wildcard selectors ($.*) are not implemented");
                const name = this.read(PROPERTY);
                if (name === undefined) this.fail('expected a property name after "."');
                segments.push(name);
            } else if (c === "[") {
                this.pos++;
                const index = this.read(INDEX);
                if (index !== undefined) {
                    segments.push(Number(index));
                } else if (this.source[this.pos] === "'") {
                    const close = this.source.indexOf("'", this.pos + 1);
                    if (close < 0) this.fail("unterminated quoted property name");
                    segments.push(this.source.slice(this.pos + 1, close));
                    this.pos = close + 1;
                } else if (this.source[this.pos] === "*") {
                    this.unsupported("wildcard selectors ([*]) are not implemented");
                } else {
                    this.fail("expected an array index or a quoted property name after [");
                }
                if (this.source[this.pos] !== "]") this.fail("expected ]");
                this.pos++;
            } else {
                break;
            }
        }
        // [EARLIER] "Array elements are denoted with [NUMBER] syntax, and must follow a property."
        if (typeof segments[0] !== "string") this.fail("a selector must start with a property, as in $.name", start);
        return segments;
    }

    private parseOperand(op: Operator): Operand {
        this.skipSpace();
        const start = this.pos;
        let operand: Operand;
        if (this.source[this.pos] === '"') {
            // [JSON] "You can enclose strings in double quotation marks ("")."
            const close = this.source.indexOf('"', this.pos + 1);
            if (close < 0) this.fail("unterminated double quote");
            const text = this.source.slice(this.pos + 1, close);
            // The pages say nothing of escapes inside quotes, so a backslash is refused rather than guessed at.
            if (text.includes("\\")) this.unsupported("backslashes in quoted strings (escaping is not documented)");
            this.pos = close + 1;
            operand = { kind: "string", value: text };
        } else if (this.source[this.pos] === "%") {
            this.unsupported("regular expressions (%...%) are not implemented");
        } else {
            const bare = this.read(BARE_VALUE);
            if (bare === undefined) this.fail(`expected a value after ${op}`);
            if (bare === "true" || bare === "false" || bare === "null") {
                this.unsupported(`compare ${bare} with IS ${bare.toUpperCase()}, not ${op}`);
            }
            // [JSON] Number: "Use the asterisk ("*") as a wild card to match numbers", as in `{ $.latency = * }`
            // ([EARLIER], "Publishing Numerical Values Found in Log Entries").
            if (bare === "*") operand = { kind: "any" };
            else if (NUMBER.test(bare)) operand = { kind: "number", value: Number(bare) };
            else if (BARE_STRING.test(bare)) operand = { kind: "string", value: bare };
            else this.fail(`value ${JSON.stringify(bare)} must be enclosed in double quotes`, start);
        }
        // [JSON] Equality operators for strings are "equal ("=") or not equal ("!=")"; the ordering operators are
        // numeric operators only.
        if (op !== "=" && op !== "!=" && operand.kind !== "number") this.fail(`${op} needs a number`, start);
        if (op === "!=" && operand.kind === "any") this.fail("* can only be compared with =", start);
        return operand;
    }

    private skipSpace(): void {
        while (this.pos < this.source.length && /\s/.test(this.source[this.pos])) this.pos++;
    }

    private eat(token: string): boolean {
        this.skipSpace();
        if (!this.source.startsWith(token, this.pos)) return false;
        this.pos += token.length;
        return true;
    }

    private expect(token: string): void {
        if (!this.eat(token)) this.fail(`expected ${token}`);
    }

    private peek(sticky: RegExp): string | undefined {
        sticky.lastIndex = this.pos;
        return sticky.exec(this.source)?.[0];
    }

    private read(sticky: RegExp): string | undefined {
        const text = this.peek(sticky);
        if (text !== undefined) this.pos += text.length;
        return text;
    }

    private fail(problem: string, offset = this.pos): never {
        throw new FilterPatternError(this.source, `malformed: ${problem} at offset ${offset}`);
    }

    private unsupported(problem: string): never {
        throw new FilterPatternError(this.source, `unsupported: ${problem}`);
    }
}

function matchesJson(expr: Expr, event: string): boolean {
    // A JSON pattern is read only against a log event that is itself a JSON object: [JSON] "Use JSON filter patterns
    // when your logs are structured in JSON format", and where the selected data is not of the expected shape "the
    // filter pattern won't match the log format" ([EARLIER]: "the filter will not be applied because the log format
    // doesn't match the filter"). A Lambda Text-format line — "<timestamp>\t<request id>\tINFO\t{...}" — is not JSON
    // even when its message part is, so it never matches.
    let root: unknown;
    try {
        root = JSON.parse(event);
    } catch {
        return false;
    }
    if (root === null || typeof root !== "object" || Array.isArray(root)) return false;
    return evaluate(expr, root as Json);
}

function evaluate(expr: Expr, root: Json): boolean {
    switch (expr.kind) {
        case "and":
            return evaluate(expr.left, root) && evaluate(expr.right, root);
        case "or":
            return evaluate(expr.left, root) || evaluate(expr.right, root);
        case "notExists":
            return select(root, expr.selector) === undefined;
        case "is":
            // [EARLIER] "{ $.SomeObject IS NULL } ... This will only be true is the specified object is set to null."
            return select(root, expr.selector)?.value === expr.value;
        case "compare": {
            // [JSON] "Property selectors point to value nodes in JSON log events. Value nodes can be strings or
            // numbers." [EARLIER] "both {$.users = 1} and {$.users != 1} will fail to match a log event where users is
            // an array": a selector that reaches no string or number fails = and != alike, as does a missing one
            // ("If arrayKey is not an array this will be false"); absence is tested with NOT EXISTS.
            const found = select(root, expr.selector);
            if (found === undefined) return false;
            return compare(found.value, expr.op, expr.operand);
        }
    }
}

/** The node a selector reaches, or undefined where a property or element is missing or the path crosses a value of
 *  the wrong type ([EARLIER] "If objectList is not an array this will be false. If the items in objectList are not
 *  objects or do not have an id property, this will be false."). */
function select(root: Json, selector: readonly Segment[]): { value: Json } | undefined {
    let node: Json = root;
    for (const segment of selector) {
        if (typeof segment === "number") {
            if (!Array.isArray(node) || segment >= node.length) return undefined;
            node = node[segment];
        } else {
            if (node === null || typeof node !== "object" || Array.isArray(node) || !Object.hasOwn(node, segment)) {
                return undefined;
            }
            node = node[segment];
        }
    }
    return { value: node };
}

/** Numbers compare with numbers and strings with strings; a value of the other type matches neither = nor != (the
 *  pages give no example of a cross-type comparison, so none is assumed). */
function compare(value: Json, op: Operator, operand: Operand): boolean {
    if (operand.kind === "any") return typeof value === "string" || typeof value === "number";
    if (operand.kind === "number") {
        if (typeof value !== "number") return false;
        switch (op) {
            case "=":
                return value === operand.value;
            case "!=":
                return value !== operand.value;
            case "<":
                return value < operand.value;
            case ">":
                return value > operand.value;
            case "<=":
                return value <= operand.value;
            case ">=":
                return value >= operand.value;
        }
    }
    if (typeof value !== "string") return false;
    const equal = wildcardEquals(operand.value, value);
    return op === "=" ? equal : !equal;
}

/** [EARLIER] "You can use the asterisk '*' wildcard character to match any text at, before, or after a search term.
 *  For example, *Event will match PutEvent and GetEvent. Event* will match EventId and EventName. Ev*ent will only
 *  match the actual string Ev*ent." — a `*` is a wildcard only at either end; elsewhere it is a literal character. */
function wildcardEquals(pattern: string, value: string): boolean {
    if (pattern === "*") return true;
    const leading = pattern.startsWith("*");
    const trailing = pattern.endsWith("*");
    const core = pattern.slice(leading ? 1 : 0, trailing ? -1 : undefined);
    if (leading && trailing) return value.includes(core);
    if (leading) return value.endsWith(core);
    if (trailing) return value.startsWith(core);
    return value === pattern;
}
