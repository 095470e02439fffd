/**
 * Page-level judgements from text: refusal of sales contact, contact links, which form is the
 * contact form, and what the page said after a submit. Pure, so each rule is table-tested.
 */
import type { ButtonInfo, FormInfo, LinkInfo } from "./types";
import { normalizeText, identTokens } from "./classify";
import { anyOf, group, sequence } from "./regex";

/**
 * Wording Japanese and English sites use to decline sales approaches. Each needs a refusal verb
 * near the sales word, so "営業時間" or "営業日" never match.
 */
const REFUSAL_PATTERNS: readonly RegExp[] = [
    sequence([
        // 営業, optionally with what kind of approach: 営業目的, 営業のご連絡, 営業・勧誘 …
        /営業/,
        group(
            [
                /目的|活動|行為|関連|系/,
                /の?ご?連絡|の?ご?案内|メール|電話|dm/,
                /のお問い?合わ?せ|お問い?合わ?せ/,
                /・勧誘|や勧誘|および勧誘|及び勧誘/,
            ],
            "?",
        ),
        // … within the same sentence …
        /[^。\n]{0,30}/,
        // … a refusal.
        group([
            /お断り|ご遠慮|お控え|禁止/,
            /受け付けて(おりません|いません)/,
            /受付(して)?(おりません|いません)/,
            /対応(して)?(おりません|いたしかねます|できません)/,
            /返信(は|を)?(いたしません|しておりません|できません)/,
            /固くお断り/,
        ]),
    ]),
    sequence([
        /(セールス|勧誘|売り込み|営業)/,
        /[^。\n]{0,30}/,
        /(お断り|ご遠慮|お控え|禁止|受け付けて(おりません|いません)|一切(お受け|対応))/,
    ]),
    /(弊社|当社)への(ご)?提案[^。\n]{0,20}(お断り|ご遠慮|受け付けて)/,
    /営業お断り|セールスお断り|売り込みお断り/,
    /\bno (solicitation|soliciting|sales (calls|emails|inquiries|pitches))\b/i,
    /\b(we do not|we don't|do not) (accept|respond to|welcome) (sales|solicitation|vendor|marketing)/i,
    sequence(
        [
            /\b(sales|solicitation|vendor|marketing) /,
            /(inquiries|pitches|emails|messages|offers) /,
            /(are|will) not (be )?(accepted|answered|welcome|responded)/,
        ],
        "i",
    ),
    /\bsolicitations? (are|is) not (accepted|welcome)/i,
];

/** The sentence that declines sales contact, or null. */
export function findRefusal(text: string): string | null {
    const t = text.normalize("NFKC");
    for (const re of REFUSAL_PATTERNS) {
        const m = re.exec(t);
        if (m) {
            return m[0].replace(/\s+/g, " ").slice(0, 120);
        }
    }
    return null;
}

/** Link text/href that leads to a contact page. Used by the scanner (as a RegExp source) too. */
export const CONTACT_LINK_PATTERN =
    "お問い?合わ?せ|問い?合わ?せ|問合せ|お問合|contact|inquiry|enquiry|toiawase|otoiawase|ご相談|相談窓口|get in touch";

/** Link text that is nothing but "contact": the surest sign of the contact page. */
const CONTACT_LINK_EXACT = sequence([
    /^/,
    group([/お問い?合わ?せ|問い?合わ?せ|お問合せ|contact|contact us/, /お問い合わせはこちら|お問い合わせフォーム/]),
    /$/,
]);

/** Orders candidate contact links, best first; mailto/tel and off-site links are dropped. */
export function rankContactLinks(
    links: readonly LinkInfo[],
    currentUrl: string,
    visited: ReadonlySet<string>,
): LinkInfo[] {
    let host: string;
    try {
        host = new URL(currentUrl).hostname.replace(/^www\./, "");
    } catch {
        host = "";
    }
    const scored: Array<{ link: LinkInfo; score: number }> = [];
    const seen = new Set<string>();
    for (const link of links) {
        let url: URL;
        try {
            url = new URL(link.href);
        } catch {
            continue;
        }
        url.hash = "";
        const key = url.toString();
        if (seen.has(key) || visited.has(key) || !/^https?:$/.test(url.protocol)) {
            continue;
        }
        seen.add(key);
        const sameSite = url.hostname.replace(/^www\./, "") === host || url.hostname.endsWith(`.${host}`);
        const text = normalizeText(link.text);
        const path = decodeURIComponent(url.pathname + url.search).toLowerCase();
        let score = 0;
        if (CONTACT_LINK_EXACT.test(text)) score += 6;
        else if (/お問い?合わ?せ|問い?合わ?せ|問合せ|お問合|contact|inquiry|enquiry/.test(text)) score += 4;
        else if (/相談|get in touch/.test(text)) score += 2;
        if (/contact|inquiry|enquiry|toiawase|otoiawase|form/.test(path)) score += 3;
        if (/採用|recruit|career|job|privacy|プライバシー|faq|よくある/.test(`${text} ${path}`)) score -= 10;
        if (!sameSite) score -= 3;
        if (score > 0) {
            scored.push({ link: { text: link.text, href: key }, score });
        }
    }
    return scored.sort((a, b) => b.score - a.score).map((s) => s.link);
}

/**
 * Scores a form as "the contact form". Search boxes, newsletter sign-ups and logins score
 * below zero; a form with a message area and an e-mail field scores high.
 */
export function scoreForm(form: FormInfo): number {
    const visible = form.fields.filter((f) => f.visible && f.honeypotHints.length === 0);
    const textLike = visible.filter(
        (f) => f.tag === "textarea" || (f.tag === "input" && /^(text|email|tel|url|number|search|)$/.test(f.type)),
    );
    // Only the action's last path segment speaks for the form: "/research/contact" is no search box.
    const actionTail =
        form.action
            .replace(/[?#].*$/, "")
            .replace(/\/+$/, "")
            .split("/")
            .pop() ?? "";
    const attrs = normalizeText(
        `${form.attrs} ${actionTail} ${identTokens(form.attrs)} ${form.action.includes("?s=") ? "?s=" : ""}`,
    );
    const text = normalizeText(`${form.heading} ${form.text.slice(0, 400)}`);
    let score = 0;
    if (visible.some((f) => f.tag === "textarea")) score += 6;
    if (
        visible.some(
            (f) =>
                f.type === "email" ||
                /mail|メール/.test(normalizeText(`${f.name} ${f.label} ${f.groupLabel} ${f.placeholder}`)),
        )
    )
        score += 3;
    score += Math.min(textLike.length, 8);
    if (
        /contact|inquiry|enquiry|toiawase|お問い?合わ?せ|問い?合わ?せ|問合せ|mw_?wp_?form|wpcf7/.test(
            `${attrs} ${text}`,
        )
    )
        score += 3;
    if (
        form.role === "search" ||
        /search|検索|\?s=|query/.test(attrs) ||
        visible.some(
            (f) => f.type === "search" || (f.tag === "input" && /^(q|s|keyword|keywords|query|search)$/.test(f.name)),
        )
    )
        score -= 20;
    if (visible.some((f) => f.type === "password")) score -= 20;
    if (
        /newsletter|ニュースレター|メルマガ|メールマガジン|subscribe|購読|登録する/.test(`${text} ${attrs}`) &&
        !visible.some((f) => f.tag === "textarea") &&
        textLike.length <= 3
    )
        score -= 15;
    return score;
}

/** A form is worth filling only if it could carry a message: a text area, or e-mail plus name. */
export function isContactCandidate(form: FormInfo): boolean {
    const visible = form.fields.filter((f) => f.visible && f.honeypotHints.length === 0);
    const hasTextarea = visible.some((f) => f.tag === "textarea");
    const textInputs = visible.filter((f) => f.tag === "input" && /^(text|email|tel|url|)$/.test(f.type)).length;
    return scoreForm(form) >= 8 && (hasTextarea || textInputs >= 3);
}

type ButtonRole = "confirm" | "send" | "other" | "excluded";

/** Buttons that never send the form, whatever their type says. */
const NOT_A_SUBMIT = anyOf([
    /リセット|クリア|reset|clear/,
    /戻る|修正|back|cancel|キャンセル/,
    /検索|search|ログイン|login|sign in|閉じる|close|削除|delete/,
    // Address helpers fill fields from the postal code.
    /住所検索|住所を?自動|郵便番号から/,
]);

/** What a button does: go to the confirmation step, send, or neither (reset/back/search). */
export function buttonRole(b: ButtonInfo): ButtonRole {
    const t = normalizeText(b.text);
    if (b.type === "reset" || NOT_A_SUBMIT.test(t)) {
        return "excluded";
    }
    if (/確認|confirm|次へ|next|進む|review|入力内容/.test(t) && !/送信する$/.test(t)) {
        return "confirm";
    }
    if (/送信|送る|submit|send|申し?込|問い?合わ?せる|問合せる|登録|完了|お問い合わせ|ok/.test(t)) {
        return "send";
    }
    return b.type === "submit" || b.tag === "button" ? "other" : "excluded";
}

/** The button to press: visible, not reset/back; confirm-step or send buttons before plain ones. */
export function chooseSubmitButton(buttons: readonly ButtonInfo[]): { button: ButtonInfo; role: ButtonRole } | null {
    const ranked = buttons
        .filter((b) => b.visible)
        .map((b) => ({ button: b, role: buttonRole(b) }))
        .filter((x) => x.role !== "excluded");
    const rank = (r: ButtonRole) => (r === "send" || r === "confirm" ? 0 : 1);
    ranked.sort((a, b) => rank(a.role) - rank(b.role));
    return ranked[0] ?? null;
}

/** What sites say once a message went through. */
const SUCCESS = anyOf(
    [
        /送信(が)?(完了|しました|されました|いたしました|を受け付け)/,
        /送信完了/,
        /(お問い?合わ?せ|ご連絡|メッセージ|ご相談|ご依頼)[^。\n]{0,25}(ありがとうございま|受け付け|受付)/,
        /ありがとうございま(す|した)/,
        /受け?付け?(完了|ました|いたしました)/,
        /(完了|受付)(いた)?しました/,
        /thank(s| you)/,
        /has been (sent|submitted|received)/,
        /successfully (sent|submitted)/,
        /we('ve| have) received/,
        /message (was |has been )?sent/,
        /submission (was )?(received|successful)/,
    ],
    "i",
);
/** Validation errors: the message was not accepted. */
const ERROR = anyOf(
    [
        /入力して(ください|下さい)|選択して(ください|下さい)|チェックして(ください|下さい)/,
        /正しく(ありません|入力)|不正な|エラー|誤りがあります|問題があります/,
        /必須(項目|です)|形式が(正しく|違い)|一致しません|入力されていません|未入力/,
        /invalid|is required|are required|required field/,
        /please (enter|fill|select|check|correct)/,
        /error|failed|not valid|try again/,
    ],
    "i",
);

/** Lines of `after` that were not on the page before: what the site just said. */
export function newLines(before: string, after: string): string[] {
    const old = new Set(
        before
            .split(/\n+/)
            .map((l) => l.trim())
            .filter((l) => l),
    );
    return after
        .split(/\n+/)
        .map((l) => l.trim())
        .filter((l) => l && !old.has(l));
}

export type Outcome =
    | { readonly kind: "success"; readonly text: string }
    | { readonly kind: "error"; readonly text: string }
    | { readonly kind: "none" };

/** Reads the text that appeared after a submit: confirmation of success, or validation errors. */
export function judgeOutcome(appeared: readonly string[]): Outcome {
    const success = appeared.find((l) => SUCCESS.test(l.normalize("NFKC")));
    const errors = appeared.filter((l) => ERROR.test(l.normalize("NFKC")) && l.length <= 200);
    if (success && errors.length === 0) {
        return { kind: "success", text: success.slice(0, 160) };
    }
    if (errors.length > 0) {
        return { kind: "error", text: errors.slice(0, 5).join(" / ").slice(0, 300) };
    }
    return { kind: "none" };
}

const CONFIRMATION_PAGE = anyOf(
    [
        /確認画面|入力内容(の|を)?(ご)?確認|内容を(ご)?確認/,
        /以下の内容で|よろしければ|送信してよろしいですか/,
        /confirm (your|the) (details|information|input|message)|please (review|confirm)/,
    ],
    "i",
);

/** Text of a confirmation step ("入力内容の確認", "以下の内容で送信"), as opposed to a result. */
export function looksLikeConfirmationPage(text: string): boolean {
    return CONFIRMATION_PAGE.test(text.normalize("NFKC"));
}
