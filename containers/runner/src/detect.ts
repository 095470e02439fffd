/**
 * Page-level judgements from text: refusal of sales contact, contact links, which form is the
 * contact form, and what the page said after a submit. Pure, so each rule is table-tested.
 */
import type { ButtonInfo, FormInfo, LinkInfo } from "./types";
import { compilePattern, fitToMaxLength, identTokens, normalizeText, toFullWidth, toHalfWidth } from "./classify";
import { hiraganaToKatakana, katakanaToHiragana } from "./profile";
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

/**
 * Compounds with 営業 that are about business hours, offices or a company's own sales staff, not about
 * being approached: masked before the sentence rules below look for a sales word.
 */
const NOT_SALES_EIGYO = anyOf([
    /営業(時間|日|所|拠点|窓口|担当|部|本部|課|中|エリア|カレンダー|開始|終了|再開|案内)/,
    /(担当|翌|前|休|臨時休|本日の?|通常)営業/,
    /営業(いた)?します|営業しております/,
]);

/** What a sales approach is called, when the sentence is about approaching the site's owner. */
const SALES_WORD = anyOf(
    [
        /営業|セールス|勧誘|売り?込み|押し売り|テレアポ|飛び込み/,
        /(商品|製品|サービス|システム|ツール)[^。\n]{0,8}(の|に関する)?(ご?案内|ご?紹介|ご?提案|宣伝|広告)/,
        /(弊社|当社|私ども)(へ|に対する|に対して|宛て?)の?[^。\n]{0,12}(ご?提案|ご?案内|ご?紹介|売り?込み)/,
        /\b(sales|solicit\w*|vendors?|pitch\w*|marketing|advertis\w*|promotional|cold (calls?|emails?))\b/,
    ],
    "i",
);

/** A firm refusal: the site will not take, answer or welcome it. */
const REFUSAL_WORD = anyOf(
    [
        /お断り|ご遠慮|お控え|控えさせて|禁止|固く|一切/,
        /受け?付け?(て|いたして|致して)?(おりません|いません|いたしません|致しません|できません)/,
        /お受け(して|いた?して|致して)?(おりません|いません|できません|いたしかねます|致しかねます)/,
        /(ご?返信|ご?返答|ご?回答|お返事|対応|ご?連絡)[^。\n]{0,6}(いたし|致し|でき|し)かね/,
        /(ご?返信|ご?返答|ご?回答|お返事|対応)[^。\n]{0,6}(いたしません|致しません|しません|しておりません|できません)/,
        /\b(refrain|prohibited|not (be )?(accepted|answered|welcome[d]?|tolerated|responded to|replied to))\b/,
        /\b(will not|won't|do not|don't|cannot) (accept|answer|respond|reply|receive a (reply|response)|entertain)/,
        /\bno (solicitation|soliciting|sales|vendors?)\b/,
    ],
    "i",
);

/** Wording that makes a refusal conditional: "may go unanswered", "depending on the content". */
const HEDGE = anyOf(
    [
        /場合が(あり|ござい)ます|場合もございます|ことが(あり|ござい)ます|可能性が(あり|ござい)ます/,
        /内容によって(は)?|状況によって(は)?|場合によって(は)?/,
        /\b(may|might) not\b|\bdepending on\b|\bin some cases\b/,
    ],
    "i",
);

/** Sentences of a page's text (Japanese and English punctuation, line breaks). */
function sentences(text: string): string[] {
    return text
        .normalize("NFKC")
        .split(/(?<=[。！？!?])|\n+|(?<=\.)\s+|;\s+/)
        .map((x) => x.replace(/\s+/g, " ").trim())
        .filter((x) => x.length >= 4);
}

export interface RefusalReading {
    /** "refusal": the page declines sales contact. "unclear": it says something about sales approaches
     *  that may mean so (hedged), so the runner must not send and an operator should look. */
    readonly kind: "refusal" | "unclear";
    readonly sentence: string;
}

/** What the page says about sales approaches: a refusal, something unclear, or nothing (null). */
export function readRefusal(text: string): RefusalReading | null {
    const t = text.normalize("NFKC");
    // 営業時間/営業所/担当営業 … never start a refusal: masked, the old patterns' 営業 cannot match them.
    const masked = t.replace(new RegExp(NOT_SALES_EIGYO.source, "g"), "■");
    for (const re of REFUSAL_PATTERNS) {
        const m = re.exec(masked);
        if (m) {
            return { kind: "refusal", sentence: m[0].replace(/\s+/g, " ").slice(0, 120) };
        }
    }
    let unclear: string | null = null;
    for (const sentence of sentences(masked)) {
        if (!SALES_WORD.test(sentence) || !REFUSAL_WORD.test(sentence)) {
            continue;
        }
        if (HEDGE.test(sentence)) {
            unclear ??= sentence.slice(0, 120);
            continue;
        }
        return { kind: "refusal", sentence: sentence.slice(0, 120) };
    }
    return unclear ? { kind: "unclear", sentence: unclear } : null;
}

/** The sentence that declines sales contact, or null. */
export function findRefusal(text: string): string | null {
    const r = readRefusal(text);
    return r?.kind === "refusal" ? r.sentence : null;
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

/** What a form is for, beyond "a contact form": the look-alikes a message must never go through. */
export type FormPurpose = "contact" | "newsletter" | "recruit" | "download" | "comment" | "login" | "search";

/** Words that say a form is for contacting the site's owner. */
const CONTACT_WORDS =
    /お問い?合わ?せ|問い?合わ?せ|問合せ|ご相談|お見積|contact|inquiry|enquiry|get in touch|toiawase|otoiawase/;
/** Look-alike purposes: words in the form's heading/buttons/attributes (and, for recruiting, field labels). */
const LOOK_ALIKE: ReadonlyArray<[Exclude<FormPurpose, "contact" | "login" | "search">, RegExp, RegExp | null]> = [
    [
        "comment",
        anyOf([
            /commentform|comment-form|wp-comments-post|comment_post_id/,
            /コメントを(送信|残す|投稿|書く)|コメントする|leave a (reply|comment)|post comment/,
        ]),
        null,
    ],
    [
        "newsletter",
        anyOf([
            /メルマガ|メールマガジン|ニュースレター|newsletter|mailing ?list|mailmag/,
            /配信(を)?(登録|申し?込|希望)|購読|subscribe|subscription/,
        ]),
        null,
    ],
    [
        "recruit",
        anyOf([
            /採用|求人|応募|エントリー(する|フォーム)?|recruit|career|job application|apply (now|for)/,
            /^entry$|\bentry\b/,
        ]),
        /志望動機|自己pr|応募職種|希望職種|履歴書|職務経歴|最終学歴/,
    ],
    [
        "download",
        anyOf([
            /ダウンロード|download|ホワイトペーパー|white ?paper|e-?book/,
            /資料請求|資料(を)?(申し?込|お?取り寄せ|送付)|資料のご請求|カタログ請求/,
        ]),
        null,
    ],
];

/**
 * What a form is for, read from the form's own heading, buttons, attributes and field labels, and the
 * page's title. A form that names a look-alike purpose (newsletter, recruiting entry, document download,
 * comment) and says nothing of contact is that look-alike; "お問い合わせ・資料請求" stays contact.
 */
export function formPurpose(form: FormInfo, pageTitle = ""): FormPurpose {
    const visible = form.fields.filter((f) => f.visible && f.honeypotHints.length === 0);
    if (visible.some((f) => f.type === "password")) {
        return "login";
    }
    if (scoreForm(form) <= -15 && !visible.some((f) => f.tag === "textarea")) {
        return "search";
    }
    const own = normalizeText(
        [
            form.heading,
            form.attrs,
            identTokens(form.attrs),
            form.action.replace(/[?#].*$/, ""),
            ...form.buttons.filter((b) => b.visible).map((b) => b.text),
        ].join(" "),
    );
    // Option texts of radios/checkboxes ("採用について") are choices, not what the form is for.
    const labels = normalizeText(
        visible
            .filter((f) => f.type !== "radio" && f.type !== "checkbox")
            .map((f) => `${f.label} ${f.groupLabel} ${f.placeholder}`)
            .join(" "),
    );
    const title = normalizeText(pageTitle);
    const says = (re: RegExp, t: string) => new RegExp(re.source, "i").test(t);
    // Contact words in the form's own heading/buttons/attributes/labels make it a contact form; the page
    // title only counts when the form itself names no look-alike purpose.
    const contactOwn = says(CONTACT_WORDS, own) || says(CONTACT_WORDS, normalizeText(form.text.slice(0, 300)));
    for (const [purpose, re, labelRe] of LOOK_ALIKE) {
        const inOwn = says(re, own) || (labelRe !== null && says(labelRe, labels));
        if (inOwn && !contactOwn) {
            return purpose;
        }
        if (!inOwn && says(re, title) && !contactOwn && !says(CONTACT_WORDS, title)) {
            return purpose;
        }
    }
    return "contact";
}

/** A form is worth filling only if it could carry a message: a text area, or e-mail plus name. */
export function isContactCandidate(form: FormInfo, pageTitle = ""): boolean {
    const visible = form.fields.filter((f) => f.visible && f.honeypotHints.length === 0);
    const hasTextarea = visible.some((f) => f.tag === "textarea");
    const textInputs = visible.filter((f) => f.tag === "input" && /^(text|email|tel|url|)$/.test(f.type)).length;
    return scoreForm(form) >= 8 && (hasTextarea || textInputs >= 3) && formPurpose(form, pageTitle) === "contact";
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

/** Buttons that answer a cookie/consent notice ("Cookie を許可", "Accept all cookies", "OK" in a notice). */
const COOKIE_ANSWER = anyOf([/cookie|クッキー/, /^(accept|allow|reject|decline) all$|^(すべて|全て)(を)?(許可|拒否)/]);

/** What a button does: go to the confirmation step, send, or neither (reset/back/search/cookie notice). */
export function buttonRole(b: ButtonInfo): ButtonRole {
    const t = normalizeText(b.text);
    if (b.type === "reset" || NOT_A_SUBMIT.test(t) || b.consent === true || COOKIE_ANSWER.test(t)) {
        return "excluded";
    }
    if (/確認|confirm|次へ|next|進む|review|入力内容/.test(t) && !/送信する$/.test(t)) {
        return "confirm";
    }
    // "ok" only as the whole label: as a substring it is in "cookie", "book", "token".
    if (/送信|送る|submit|send|申し?込|問い?合わ?せる|問合せる|登録|完了|お問い合わせ|^ok$/.test(t)) {
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
        // Google Forms' answer page: "回答を記録しました" / "Your response has been recorded".
        /回答(を|が)?(記録|送信)(しました|されました)/,
        /response has been recorded/,
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
    /** `thanked`: the page thanked the visitor too, so the message may have gone through after all. */
    | { readonly kind: "error"; readonly text: string; readonly thanked: boolean }
    | { readonly kind: "none" };

/** Reads the text that appeared after a submit: confirmation of success, or validation errors. */
export function judgeOutcome(appeared: readonly string[]): Outcome {
    const success = appeared.find((l) => SUCCESS.test(l.normalize("NFKC")));
    const errors = appeared.filter((l) => ERROR.test(l.normalize("NFKC")) && l.length <= 200);
    if (success && errors.length === 0) {
        return { kind: "success", text: success.slice(0, 160) };
    }
    if (errors.length > 0) {
        return { kind: "error", text: errors.slice(0, 5).join(" / ").slice(0, 300), thanked: success !== undefined };
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

/** Messages that ask for the value without hyphens or separators: bare digits. */
const WANTS_BARE_DIGITS = anyOf(
    [
        /ハイフン(なし|無し|不要|は不要|を除|抜き|を入れず|を含めず|を付けず|は入れず|なしで|を使わず)/,
        /(半角)?数字のみ|数字だけ/,
        /without (hyphens?|dashes|spaces)|no (hyphens?|dashes)|(digits|numbers|numerals) only|only (digits|numbers)/,
    ],
    "i",
);
const WANTS_KATAKANA = /カタカナ|カナで|katakana/i;
const WANTS_HIRAGANA = /ひらがな|hiragana/i;
const WANTS_FULL = /全角|full-?width|double-?byte/i;
const WANTS_HALF = /半角|half-?width|single-?byte/i;
const MAX_CHARS = anyOf(
    [
        /(\d+)\s*(文字|字)(以内|まで|以下)/,
        /(at most|up to|maximum of|no more than) (\d+) char/,
        /(\d+) char\w* or (fewer|less)/,
    ],
    "i",
);

/**
 * The value a validation message asks for instead of `value`, or null when the message names nothing this
 * can change (a missing answer, a value we do not have). Reads: カタカナ/ひらがな, 全角/半角, no hyphens or
 * digits only, a length limit; and the field's own `pattern`, which decides between candidates when given.
 */
export function correctValue(value: string, message: string, pattern = ""): string | null {
    const m = message.normalize("NFKC");
    const digitsLike = /^[\d０-９\s()（）+＋\-‐－―ー]+$/.test(value);
    let v = value;
    if (WANTS_KATAKANA.test(m) && !WANTS_HIRAGANA.test(m)) {
        // NFKC also widens half-width katakana (ｶﾀｶﾅ → カタカナ).
        v = hiraganaToKatakana(v);
    } else if (WANTS_HIRAGANA.test(m) && !WANTS_KATAKANA.test(m)) {
        v = katakanaToHiragana(v);
    }
    if (digitsLike && WANTS_BARE_DIGITS.test(m)) {
        v = toHalfWidth(v).replace(/[^0-9]/g, "");
    } else if (WANTS_HALF.test(m) && !WANTS_FULL.test(m)) {
        v = toHalfWidth(v);
    } else if (WANTS_FULL.test(m) && !WANTS_HALF.test(m) && !WANTS_KATAKANA.test(m)) {
        v = toFullWidth(v);
    }
    const max = MAX_CHARS.exec(m);
    if (max) {
        v = fitToMaxLength(v, Number(max[1] ?? max[5] ?? max[6]));
    }
    const re = pattern ? compilePattern(pattern) : null;
    if (re && !re.test(v)) {
        // The field's pattern knows better than our reading of the words: the first variant it takes.
        const variants = [
            v,
            toHalfWidth(v),
            toHalfWidth(v).replace(/[^0-9]/g, ""),
            toFullWidth(v),
            hiraganaToKatakana(v),
            katakanaToHiragana(v),
            v.replace(/\s+/g, ""),
        ];
        v = variants.find((x) => re.test(x)) ?? v;
    }
    return v !== value && v !== "" ? v : null;
}

/** A field's caption as error messages name it: "ふりがな（必須）" → "ふりがな". */
export function captionCore(caption: string): string {
    return normalizeText(caption)
        .replace(/必須|任意|required|optional|[*※＊:：()（）【】[\]「」]/g, " ")
        .replace(/\s+/g, " ")
        .trim();
}

/**
 * Which of `captions` an error line names: the longest caption the line contains (so "お名前（ふりがな）"
 * wins over "お名前"), or -1. Captions shorter than two characters name nothing.
 */
export function namedCaption(line: string, captions: readonly string[]): number {
    // Brackets and spaces differ between a caption and the message quoting it: compared without them.
    const l = captionCore(line).replace(/ /g, "");
    let best = -1;
    captions.forEach((c, i) => {
        const core = captionCore(c).replace(/ /g, "");
        if (
            core.length >= 2 &&
            l.includes(core) &&
            (best < 0 || core.length > captionCore(captions[best]).replace(/ /g, "").length)
        ) {
            best = i;
        }
    });
    return best;
}
