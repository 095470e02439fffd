/** Refusal wording, contact links, form choice, buttons and outcome reading (no browser). */
import * as assert from "assert";
import {
    buttonRole,
    chooseSubmitButton,
    correctValue,
    namedCaption,
    findRefusal,
    formPurpose,
    readRefusal,
    isContactCandidate,
    judgeOutcome,
    looksLikeConfirmationPage,
    newLines,
    rankContactLinks,
} from "../../containers/runner/src/detect";
import type { FieldInfo, FormInfo } from "../../containers/runner/src/types";

describe("runner page judgements", () => {
    const refusals: string[] = [
        "※営業目的のお問い合わせはご遠慮ください。",
        "営業・勧誘を目的としたご連絡は一切受け付けておりません。",
        "セールスのお電話・メールはお断りしております",
        "弊社へのご提案はお断りしております",
        "営業メールはお控えください",
        "売り込みお断り",
        "営業のご連絡には返信いたしません。",
        "We do not accept sales solicitations through this form.",
        "No solicitation, please.",
        "Sales pitches will not be answered.",
        // Wording without the usual keywords, and refusals placed in small print (issue 16).
        "※当フォームからの営業・勧誘を目的としたご連絡には一切返信いたしかねます。",
        "セールスを目的としたお問い合わせには返信いたしかねますので、あらかじめご了承ください。",
        "弊社に対する商品・サービスのご案内につきましては、ご返信を控えさせていただいております。",
        "売込みのお電話・メールはご遠慮願います。",
        "Please refrain from using this form to pitch products or services to us.",
        "Vendor pitches will not receive a reply.",
    ];
    for (const text of refusals) {
        it(`treats 「${text}」 as a refusal of sales contact`, () => assert.ok(findRefusal(text), text));
    }
    const notRefusals: string[] = [
        "営業時間 9:00〜18:00（土日祝はお休み）",
        "営業日カレンダー",
        "営業部　〒100-0001",
        "弊社の営業担当よりご連絡いたします。",
        "Our sales team will contact you shortly.",
        "お問い合わせはお気軽にどうぞ",
        // 営業 compounds and refusals about something other than sales approaches.
        "営業時間外のお電話には対応いたしかねます。",
        "営業時間外にいただいたお問い合わせは翌営業日以降のご返信となります。",
        "お見積りのご依頼は最寄りの営業所、または担当営業までご連絡ください。",
        "非通知設定のお電話はお断りしております。",
        "アポイントのないご来社はご遠慮ください。",
        "携帯電話のメールアドレスは受信できない場合があるためご遠慮ください。",
        "Contact our sales team. We do not share your data with third parties.",
    ];
    for (const text of notRefusals) {
        it(`does not treat 「${text}」 as a refusal`, () => assert.strictEqual(findRefusal(text), null));
    }

    it("reads hedged wording about sales approaches as unclear, not as a refusal nor as leave to send", () => {
        const r = readRefusal("営業やセールスに関するご連絡は、内容によってはご返答いたしかねる場合がございます。");
        assert.strictEqual(r?.kind, "unclear");
        assert.strictEqual(readRefusal("Sales inquiries may not be answered in some cases.")?.kind, "unclear");
        assert.strictEqual(readRefusal("営業目的のお問い合わせはご遠慮ください。")?.kind, "refusal");
        assert.strictEqual(readRefusal("営業時間は9時から18時です。"), null);
    });

    it("ranks contact links by text and path, dropping recruiting, privacy and off-site links", () => {
        const links = [
            { text: "採用のお問い合わせ", href: "https://a.example.jp/recruit/contact" },
            { text: "プライバシーポリシー", href: "https://a.example.jp/privacy" },
            { text: "CONTACT", href: "https://other.example.com/contact" },
            { text: "お問い合わせ", href: "https://a.example.jp/contact/" },
            { text: "ご相談はこちら", href: "https://a.example.jp/soudan" },
        ];
        assert.deepStrictEqual(
            rankContactLinks(links, "https://www.a.example.jp/", new Set()).map((l) => l.href),
            ["https://a.example.jp/contact/", "https://other.example.com/contact", "https://a.example.jp/soudan"],
        );
        assert.deepStrictEqual(
            rankContactLinks(links, "https://a.example.jp/", new Set(["https://a.example.jp/contact/"])).map(
                (l) => l.href,
            )[0],
            "https://other.example.com/contact",
        );
    });

    const f = (over: Partial<FieldInfo>): FieldInfo => ({
        fid: 1,
        tag: "input",
        type: "text",
        name: "",
        id: "",
        className: "",
        placeholder: "",
        autocomplete: "",
        ariaLabel: "",
        title: "",
        label: "",
        groupLabel: "",
        groupKey: "",
        trailingText: "",
        required: false,
        maxLength: null,
        pattern: "",
        inputMode: "",
        visible: true,
        editable: true,
        value: "",
        checked: false,
        options: [],
        honeypotHints: [],
        ...over,
    });
    const form = (fields: FieldInfo[], over: Partial<FormInfo> = {}): FormInfo => ({
        formId: 1,
        pseudo: false,
        action: "/x",
        method: "post",
        attrs: "",
        role: "",
        text: "",
        heading: "",
        noValidate: false,
        fields,
        buttons: [],
        ...over,
    });

    it("accepts a contact form and rejects search, newsletter and login forms", () => {
        const contact = form([
            f({ name: "name" }),
            f({ type: "email", name: "email" }),
            f({ tag: "textarea", type: "textarea", name: "body" }),
        ]);
        assert.ok(isContactCandidate(contact));
        assert.ok(!isContactCandidate(form([f({ type: "search", name: "s" })], { role: "search" })));
        assert.ok(
            !isContactCandidate(
                form([f({ type: "email", name: "nl" })], {
                    heading: "ニュースレター",
                    text: "最新情報をお届けします 登録する",
                }),
            ),
        );
        assert.ok(
            !isContactCandidate(
                form([
                    f({ name: "user" }),
                    f({ type: "password", name: "pw" }),
                    f({ name: "x" }),
                    f({ tag: "textarea", type: "textarea" }),
                ]),
            ),
        );
        // A message area named q is still a contact form, and "research" in the action is no search.
        assert.ok(
            isContactCandidate(
                form([f({ name: "n" }), f({ type: "email" }), f({ tag: "textarea", type: "textarea", name: "q" })], {
                    action: "/research/contact",
                }),
            ),
        );
    });

    it("tells newsletter, recruiting, download and comment forms from contact forms", () => {
        const fields = [
            f({ name: "company", label: "会社名" }),
            f({ name: "name", label: "お名前" }),
            f({ type: "email", name: "email", label: "メールアドレス" }),
            f({ tag: "textarea", type: "textarea", name: "body", label: "ご要望" }),
        ];
        const btn = (text: string) => [{ bid: 9, text, type: "submit", tag: "button", visible: true }];
        assert.strictEqual(
            formPurpose(form(fields, { heading: "メールマガジン登録", buttons: btn("登録する") })),
            "newsletter",
        );
        assert.strictEqual(formPurpose(form(fields, { heading: "ENTRY", buttons: btn("エントリーする") })), "recruit");
        assert.strictEqual(
            formPurpose(form([...fields, f({ tag: "textarea", type: "textarea", label: "志望動機" })])),
            "recruit",
        );
        assert.strictEqual(
            formPurpose(form(fields, { heading: "資料ダウンロード", buttons: btn("資料をダウンロードする") })),
            "download",
        );
        assert.strictEqual(
            formPurpose(form(fields, { attrs: "commentform comment-form", buttons: btn("コメントを送信") })),
            "comment",
        );
        // The page title alone speaks when the form itself says nothing.
        assert.strictEqual(formPurpose(form(fields), "メールマガジン登録 | 株式会社エム"), "newsletter");
        // A form that names contact stays a contact form, whatever else it offers.
        assert.strictEqual(formPurpose(form(fields, { heading: "お問い合わせ・資料請求" })), "contact");
        assert.strictEqual(
            formPurpose(form(fields, { heading: "お問い合わせ" }), "採用情報 | 株式会社エム"),
            "contact",
        );
        assert.strictEqual(
            formPurpose(
                form([...fields, f({ type: "radio", name: "t", label: "採用について" })], { heading: "お問い合わせ" }),
            ),
            "contact",
        );
        assert.ok(!isContactCandidate(form(fields, { heading: "メールマガジン登録" })));
        assert.ok(isContactCandidate(form(fields, { heading: "お問い合わせ" })));
    });

    it("tells confirm-step buttons from send buttons and excludes reset/back/search", () => {
        const b = (text: string, type = "submit") => buttonRole({ bid: 1, text, type, tag: "button", visible: true });
        assert.strictEqual(b("確認画面へ"), "confirm");
        assert.strictEqual(b("入力内容を確認する"), "confirm");
        assert.strictEqual(b("送信する"), "send");
        assert.strictEqual(b("この内容で送信する"), "send");
        assert.strictEqual(b("Send Message"), "send");
        assert.strictEqual(b("戻る", "button"), "excluded");
        assert.strictEqual(b("リセット", "reset"), "excluded");
        assert.strictEqual(b("住所検索", "button"), "excluded");
    });

    it("never takes a cookie/consent notice's button for a send or confirm button", () => {
        const b = (text: string, consent = false) =>
            buttonRole({ bid: 1, text, type: "button", tag: "button", visible: true, consent });
        // "ok" inside "cookie" once made "Accept cookies" a send button; "OK" in a notice is the notice's.
        assert.strictEqual(b("Accept cookies"), "excluded");
        assert.strictEqual(b("Cookie を許可する"), "excluded");
        assert.strictEqual(b("すべて許可"), "excluded");
        assert.strictEqual(b("OK", true), "excluded");
        assert.strictEqual(b("同意する", true), "excluded");
        assert.strictEqual(b("Book a demo"), "other");
        // Outside a notice, a form's lone "OK" button still sends, and 同意して送信 is a send button.
        assert.strictEqual(b("OK"), "send");
        assert.strictEqual(b("同意して送信する"), "send");
        const chosen = chooseSubmitButton([
            { bid: 1, text: "OK", type: "button", tag: "button", visible: true, consent: true },
            { bid: 2, text: "送信する", type: "submit", tag: "button", visible: true },
        ]);
        assert.strictEqual(chosen?.button.bid, 2);
    });

    it("corrects the value a validation message names, and nothing else", () => {
        assert.strictEqual(
            correctValue("やまだ たろう", "ふりがなは全角カタカナで入力してください。"),
            "ヤマダ タロウ",
        );
        assert.strictEqual(correctValue("ﾔﾏﾀﾞ", "カタカナで入力してください"), "ヤマダ");
        assert.strictEqual(correctValue("ヤマダ", "ひらがなで入力してください"), "やまだ");
        assert.strictEqual(correctValue("03-1234-5678", "ハイフンなしで入力してください。"), "0312345678");
        assert.strictEqual(correctValue("03-1234-5678", "Please enter digits only"), "0312345678");
        assert.strictEqual(correctValue("100-0005", "半角数字のみで入力してください"), "1000005");
        assert.strictEqual(correctValue("０３", "半角で入力してください"), "03");
        assert.strictEqual(correctValue("03-1234", "全角で入力してください"), "０３－１２３４");
        assert.strictEqual(correctValue("abcdefghij", "5文字以内で入力してください"), "abcde");
        // The field's pattern decides when the words do not: a space the pattern does not allow.
        assert.strictEqual(
            correctValue("ヤマダ タロウ", "Please match the requested format.", "[ァ-ヶー]+"),
            "ヤマダタロウ",
        );
        // Nothing to change: a missing answer, a message about something else, a value already right.
        assert.strictEqual(correctValue("", "FAX番号を入力してください"), null);
        assert.strictEqual(correctValue("t.yamada@example.com", "メールアドレスが一致しません"), null);
        assert.strictEqual(correctValue("0312345678", "ハイフンなしで入力してください"), null);
        // A hyphenated e-mail or name is no phone number: "no hyphens" leaves it alone.
        assert.strictEqual(correctValue("山田-太郎", "ハイフンなしで入力してください"), null);
    });

    it("tells which field an error line names, by the longest caption in it", () => {
        const captions = ["お名前", "お名前（ふりがな）※必須", "メールアドレス", "電話"];
        assert.strictEqual(namedCaption("お名前（ふりがな）は全角カタカナで入力してください", captions), 1);
        assert.strictEqual(namedCaption("お名前を入力してください", captions), 0);
        assert.strictEqual(namedCaption("メールアドレスの形式が正しくありません", captions), 2);
        assert.strictEqual(namedCaption("入力内容に誤りがあります", captions), -1);
    });

    it("reads success, errors and confirmation steps from the text that appeared", () => {
        assert.deepStrictEqual(newLines("a\nb\n", "a\nb\nc\n"), ["c"]);
        assert.strictEqual(judgeOutcome(["送信が完了しました。"]).kind, "success");
        assert.strictEqual(judgeOutcome(["Thank you for contacting us."]).kind, "success");
        assert.strictEqual(judgeOutcome(["メールアドレスを入力してください"]).kind, "error");
        assert.strictEqual(judgeOutcome(["ありがとうございます。", "電話番号の形式が正しくありません"]).kind, "error");
        assert.strictEqual(judgeOutcome(["お問い合わせフォーム"]).kind, "none");
        assert.strictEqual(judgeOutcome(["回答を記録しました。"]).kind, "success");
        assert.ok(looksLikeConfirmationPage("以下の内容で送信します。よろしければ送信ボタンを押してください"));
        assert.ok(!looksLikeConfirmationPage("送信が完了しました"));
    });
});
