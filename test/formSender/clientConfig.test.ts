import { strict as assert } from "assert";
import { parseClientConfig, validateClientConfig } from "../../functions/formSender/clientConfig";
import { makeSanitizer } from "../../functions/formSender/sanitize";

const VALID = {
    client: {
        company_name: "株式会社テストコネクト",
        company_name_kana: "カブシキガイシャテストコネクト",
        company_name_en: "TestConnect Inc.",
        last_name: "山田",
        first_name: "太郎",
        last_name_kana: "ヤマダ",
        first_name_kana: "タロウ",
        last_name_en: "Yamada",
        first_name_en: "Taro",
        email: "t.yamada@example.com",
        phone: "03-1234-5678",
        postal_code: "100-0005",
        prefecture: "東京都",
        city: "千代田区",
        address: "丸の内1-1-1",
        department: "営業部",
        position: "部長",
        website_url: "https://www.example.com/",
    },
    message: { subject: "ご提案", body: "お世話になっております。" },
    targeting: { send_start_time: "09:00", send_end_time: "18:00" },
};
/** A client_config as loose JSON sections, so cases can drop required fields and add unknown ones. */
type LooseConfig = Record<string, Record<string, unknown>>;
const clone = () => JSON.parse(JSON.stringify(VALID)) as LooseConfig;

describe("client_config schema", () => {
    it("accepts the DESIGN.md example", () => assert.deepEqual(validateClientConfig(VALID), []));

    it("accepts only the required fields", () => {
        const c = {
            client: {
                company_name: "A社",
                last_name: "山田",
                first_name: "太郎",
                email: "a@example.com",
                phone: "0312345678",
            },
            message: { body: "x" },
        };
        assert.deepEqual(validateClientConfig(c), []);
    });

    const cases: [string, (c: LooseConfig) => void, { path: string; message: string }[]][] = [
        ["requires the e-mail", (c) => delete c.client.email, [{ path: "/client/email", message: "is required" }]],
        [
            "requires the message body",
            (c) => delete c.message.body,
            [{ path: "/message/body", message: "is required" }],
        ],
        [
            "rejects unknown fields",
            (c) => (c.client.fax = "03"),
            [{ path: "/client/fax", message: "is not a known field; remove it" }],
        ],
        [
            "rejects a malformed e-mail",
            (c) => (c.client.email = "yamada@"),
            [{ path: "/client/email", message: 'must match format "email"' }],
        ],
        [
            "rejects a send end time that is not HH:MM",
            (c) => (c.targeting.send_end_time = "25:00"),
            [{ path: "/targeting/send_end_time", message: "must be a time HH:MM (JST, 00:00-23:59)" }],
        ],
        [
            "rejects hiragana where katakana is expected",
            (c) => (c.client.last_name_kana = "やまだ"),
            [{ path: "/client/last_name_kana", message: 'must match pattern "^[\\u30A0-\\u30FF\\u3000\\s・ー]*$"' }],
        ],
    ];
    for (const [title, mutate, expected] of cases) {
        it(title, () => {
            const c = clone();
            mutate(c);
            assert.deepEqual(validateClientConfig(c), expected);
        });
    }

    it("lists every problem at once and names them when parsing", () => {
        const c = clone();
        delete c.client.phone;
        c.message.extra = 1;
        assert.equal(validateClientConfig(c).length, 2);
        assert.throws(
            () => parseClientConfig(c),
            /^Error: client_config is invalid: \/client\/phone is required; \/message\/extra is not a known field; remove it$/,
        );
    });
});

describe("log sanitizer", () => {
    const sanitize = makeSanitizer({
        secrets: ["service-role-secret-value"],
        companyNames: ["株式会社テストコネクト", "Acme Corp"],
    });
    const cases: [string, string][] = [
        ["connecting to https://abcdefghijklmno.supabase.co/rest/v1/rpc/claim", "connecting to [supabase-url]"],
        ["key=eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLXZhbHVl", "key=[jwt]"],
        ["auth service-role-secret-value used", "auth [secret] used"],
        ["mail t.yamada@example.com failed", "mail [email] failed"],
        ["tel 03-1234-5678 / +81-90-1234-5678 / 09012345678", "tel [phone] / [phone] / [phone]"],
        ["sent to 株式会社テストコネクト and Acme Corp", "sent to [company] and [company]"],
        [
            "GET https://bucket.s3.amazonaws.com/client-config/x.json?X-Amz-Signature=abc&X-Amz-Credential=AKIA",
            "GET https://bucket.s3.amazonaws.com/client-config/x.json?[query]",
        ],
        [
            "run_index=3 attempt=2 shard 1/4 at 2026-11-23T03:00:00Z",
            "run_index=3 attempt=2 shard 1/4 at 2026-11-23T03:00:00Z",
        ],
    ];
    for (const [input, expected] of cases)
        it(`masks ${JSON.stringify(input.slice(0, 40))}`, () => assert.equal(sanitize(input), expected));
});
