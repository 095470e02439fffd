/**
 * Long patterns built from named parts, one alternative a line, instead of one unreadable literal.
 *
 * The helpers only join the parts' `source` text: `anyOf([/a/, /b(c|d)/], "i")` is exactly `/a|b(c|d)/i`,
 * with the same groups in the same order, so matching (and every capture index) stays that of the literal.
 * Flags on the parts are ignored; give them to the outermost call.
 */

/** Top-level alternatives: `anyOf([/x/, /y/])` is `/x|y/`. */
export function anyOf(alternatives: readonly RegExp[], flags = ""): RegExp {
    return new RegExp(alternatives.map((a) => a.source).join("|"), flags);
}

/**
 * A capturing group of alternatives, for use inside `sequence`: `group([/x/, /y/])` is `/(x|y)/`,
 * `group([/x/, /y/], "?")` is `/(x|y)?/`.
 */
export function group(alternatives: readonly RegExp[], quantifier: "" | "?" | "*" | "+" = ""): RegExp {
    return new RegExp(`(${alternatives.map((a) => a.source).join("|")})${quantifier}`);
}

/**
 * Pieces matched one after the other: `sequence([/x?/, /(y|z)/])` is `/x?(y|z)/`. A piece must not
 * have a top-level `|` (wrap it with `group`), or it would split the whole pattern.
 */
export function sequence(pieces: readonly RegExp[], flags = ""): RegExp {
    return new RegExp(pieces.map((p) => p.source).join(""), flags);
}
