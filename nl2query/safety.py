"""Guardrails outside the model: refuse or ask back before any plan is built.

``check(question)`` is pure (no I/O, no model). It normalises the text first (NFKC, width,
zero-width and combining characters, spacing/punctuation inserted between letters, Cyrillic/Greek
look-alikes, leetspeak in Latin words), then looks for *generic* patterns:

refused
    write / action requests (削除・更新・追加・記録・オーダー・中止 …), prompt injection and prompt
    leaks, SQL in the question, secrets, bulk personal data or export, out-of-scope access,
    medical advice, general knowledge, prediction, and data the store does not hold.
clarify
    vague thresholds (高い・悪い・多い …), vague times (最近・しばらく …), no patient given
    (この患者・彼 …), no context (前回と同じ …), vague targets (データを見せて …), a family name only.

The pipeline calls it first; a verdict means no plan is built and nothing runs. It is one layer:
the executor is read-only whatever the plan says, and stored text never reaches the model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import jaconv

__all__ = ["SafetyVerdict", "check", "normalize", "compact"]


@dataclass(frozen=True)
class SafetyVerdict:
    """Why a question is not answered: ``status`` (refused/clarify), a machine ``code``, and a
    Japanese ``reason`` fit to show the clinician (never echoes the question)."""

    status: Literal["refused", "clarify"]
    code: str
    reason: str


# --------------------------------------------------------------------------- normalisation

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f"))
# Cyrillic / Greek capitals and smalls that look like Latin letters.
_HOMOGLYPHS = str.maketrans(
    "АВЕКМНОРСТХаеорсухіїјѕԁΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοριντυχ",
    "ABEKMHOPCTXaeopcyxiijsdABEZHIKMNOPTYXaopivtux",
)
_LEET = str.maketrans("013457@$!|", "oieastasil")
# Characters people put between letters to dodge keyword filters.
_SEPARATORS = re.compile(
    r"[\s\-_.・･,、，/\\|*＊+~〜～^`'\"“”‘’()\[\]{}「」『』【】<>＜＞:;!?！？。…‥#=%&@]+"
)


def normalize(text: str) -> str:
    """NFKC + lower case + no zero-width/format/combining characters + look-alikes folded.

    Keeps spaces and punctuation (SQL patterns need them)."""
    t = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    t = "".join(
        ch for ch in t if unicodedata.category(ch) not in ("Cf", "Mn", "Me", "Cc") or ch in "\n\t"
    )
    t = t.translate(_HOMOGLYPHS)
    # ｶﾞ etc. are fixed by NFKC; fold the wave/long-vowel variants to one mark
    t = t.replace("〜", "~").replace("～", "~")
    return t.lower()


def compact(text: str) -> str:
    """``normalize`` with separators removed: 「削 除」「削・除」「D-E-L-E-T-E」 → 削除/delete."""
    return _SEPARATORS.sub("", normalize(text))


def _latin_deleet(t: str) -> str:
    """Leetspeak inside Latin words (dr0p → drop); digits next to other digits stay."""
    return re.sub(
        r"[a-z0-9@$!|]*[a-z][a-z0-9@$!|]*",
        lambda m: m.group(0).translate(_LEET),
        t,
    )


# --------------------------------------------------------------------------- patterns


class _P:
    """A regex matched with katakana folded to hiragana on both sides (消シテ = 消して)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = jaconv.kata2hira(pattern)
        self._rx: re.Pattern[str] | None = None  # compiled on first use

    def search(self, text: str) -> re.Match[str] | None:
        if self._rx is None:
            self._rx = re.compile(self.pattern)
        return self._rx.search(jaconv.kata2hira(text))


# Requests to act: verb stems of writing/acting + an imperative/request ending.
_ACT_STEMS = (
    r"削除|消去|抹消|破棄|廃棄|初期化|リセット|上書き|改ざん|改竄|書き?換え|書換|差し?替え|置き?換え|"
    r"入れ替え|編集|修正|訂正|変更|更新|追加|新規登録|登録|挿入|記録|入力|保存|記載|記入|取り?消し|"
    r"キャンセル|無効化|停止|中止|中断|休薬|処方|投与|増量|減量|オーダー|予約|発行|送信|転送|送付|"
    r"アップロード|書き込み|書込み|デリート|ドロップ|アップデート|インサート|トランケート|コミット|"
    r"ロールバック|統合|マージ|移動|退院させ|入院させ|さくじょ|しょうきょ|こうしん|ついか|へんこう|"
    r"しゅうせい|とうろく|ちゅうし|追記|加筆|解除|承認|確定|反映|発注|依頼|指示|実施|処置|注射|点滴|"
    r"投薬|再開|延長|退院処理|入院登録|ロック|無効|有効|改変|捏造|偽装|書き足|付け替え|紐付け|紐づけ|"
    r"名寄せ|差し戻|消込|記帳|採番|払い出"
)
_REQ_END = (
    r"(?:に|を)?(?:して(?!い|る|た|お?り|ま|あ)|しろ|せよ|しなさい|しといて|しとけ|しちゃって|"
    r"してほし|して欲し|してくれ|してくださ|して下さ|してもら|していただ|して頂|しておいて|しておけ|"
    r"をお願い|お願い|をおねが|を実行|を行って|を行え|をおこな|をかけ|を掛け|を頼|の依頼|できる[?か]?$|"
    r"する(?:sql|クエリ|コマンド|スクリプト|処理|ための|方法|よう|こと)|したい|しよう|すべし)"
)
_WRITE_RE = _P(rf"(?:{_ACT_STEMS}){_REQ_END}")
_WRITE_VERBS_RE = _P(
    r"消し(?:て|と|ちゃ|ておい)|消せ|消す(?:sql|クエリ|コマンド|よう|こと|ための|方法)|消しなさい|"
    r"書き?換えて|書き?換えろ|書き?換える|書き?変えて|変えて(?!い|る)|変えろ|直して(?!い|る)|直せ|"
    r"捨てて|削って|加えて(?!い|る)|足して(?!い|る)|入れて(?!い|る)|入れろ|"
    r"(?:退院|入院|転棟|転科|転院)させ(?:て|ろ|る|たい)|止めて(?!い|る)|(?<!ま)とめて(?!い|る)|やめさせ|やめて(?!い|る)|増やして(?!い|る)|減らして(?!い|る)|"
    r"(?:患者|レコード|データ|テーブル|カルテ|行)を(?:作って|作れ|作成して|作成しろ)|"
    r"(?:処方|薬|オーダー|指示|紹介状|診断書|検査|点滴|注射)(?:箋)?を(?:出して|出せ|出しといて|切って|入れて)|"
    r"(?:紹介状|診断書|処方箋|指示書)を(?:書いて|書け|作って|作成)|"
    r"(?:メモ|コメント|記録|フラグ|印|タグ|注意書き|付箋)を(?:残して|残せ|つけて|付けて|入れて|書いて|追加)|"
    r"(?:カルテ|記録|データ|db|データベース)に(?:書いて|書け|書き|残して|入れて|追加|登録|反映)|"
    r"(?:外して|はずして|戻して|もどして|元に戻|移して|変えといて|直しといて)(?!い|る)|"
    r"(?:検査|採血|オーダー|処方|薬|点滴|注射)を(?:依頼|取り消|キャンセル|止め|とめ|再開|延長|継続して)"
)
# "値を 6.5 に(して|変えて)" — a value written into a record
_SET_VALUE_RE = _P(r"を[0-9]+(?:\.[0-9]+)?[a-z%/μ]{0,6}(?:に|へ)(?:して|しろ|せよ|変え|直し)")

_SQL_WRITE_RE = _P(
    r"\b(?:drop|delete|truncate|alter|insert|update|merge|replace|grant|revoke|create|exec|execute|"
    r"call|copy|vacuum|attach|detach|pragma)\b"
)
_SQL_SHAPE_RE = _P(
    r"\bselect\b.+\bfrom\b|\bunion\b.*\bselect\b|\bdelete\s+from\b|\binsert\s+into\b|"
    r"\bupdate\b\s+\w+\s+\bset\b|\bdrop\s+(?:table|database|schema|view|index)\b|"
    r"\bwhere\s+\d+\s*=\s*\d+|'\s*(?:or|and)\s*'?[\w]+'?\s*=\s*'?[\w]+|"
    r"(?:^|\s|')or\s+\d+\s*=\s*\d+|;\s*--|'\s*--|--\s*$|/\*.*\*/|\bsleep\s*\(|pg_sleep|xp_cmdshell|"
    r"information_schema|sqlite_master|pg_catalog|load_file|into\s+outfile|char\s*\(\s*\d|0x[0-9a-f]{6,}"
)
_SQL_COMPACT_RE = _P(
    r"droptable|deletefrom|insertinto|truncatetable|altertable|unionselect|unionallselect|"
    r"or1=1|or11|selectfrom|pgsleep|xpcmdshell|informationschema|sqlitemaster|"
    r"update[a-z_]{1,40}set[a-z_]{1,40}|sleep\d|waitfordelay|benchmark\d"
)

_INJECTION_RE = _P(
    r"(?:次|以下|下記)の(?:命令|指示|コマンド|手順)に(?:従|したが)|(?:ルール|規則|制約|禁止事項)を(?:破|やぶ)|"
    r"禁止事項は(?:ない|なし|ありません)|制約なしで|制限なしで|何でも答え|なんでも答え|"
    r"(?:役割|ロール|人格|キャラ)を(?:変更|変え|切り替え)|あなたの(?:役割|ロール)は|"
    r"(?:デバッグ|テスト|検証)(?:のため|なので|目的)(?:に|で)?.{0,12}(?:全|すべて|制限|無視|表示)|"
    r"(?:指示|命令|ルール|制約|制限|設定|プロンプト|ガイドライン|ポリシー|方針|規則|前提|安全|"
    r"セーフティ|フィルタ|ガード)(?:は|を|も|など|とか)?(?:全て|すべて|全部)?(?:無視|むし|忘れ|わすれ|"
    r"破棄|リセット|上書き|解除|取り?消|スキップ|オフ|無効|外し|はずし|気にせず|気にしない)|"
    r"(?:これまで|今まで|いままで|以前|前|上記|上|直近|最初|先ほど|さっき)の(?:指示|命令|内容|ルール|"
    r"制約|会話|話|設定|プロンプト)(?:は|を|も)?(?:全て|すべて|全部)?(?:無視|むし|忘れ|わすれ|破棄|リセット)|"
    r"あなたは(?:今から|これから|いまから|もう)|(?:今から|これから|いまから)(?:あなた|君|きみ|お前|おまえ)は|"
    r"(?:管理者|開発者|デバッグ|メンテナンス|保守|特権|root|admin|sudo|god|dan|システム)"
    r"(?:モード|権限|として|になって|になりきって|ユーザ)|"
    r"制限(?:なし|の?ない|を解除|を外)|ロールプレイ|なりきって|脱獄|ジェイルブレイク|jailbreak|"
    r"\bignore\b.{0,30}\b(?:instruction|prompt|rule|above|previous)|\bdisregard\b|"
    r"\bforget\b.{0,30}\b(?:instruction|rule|above|previous)|\byou are now\b|\bact as\b|"
    r"\bdeveloper mode\b|<\|?(?:im_start|im_end|system|assistant|user)|\[/?inst\]|"
    r"^\s*(?:system|assistant|user)\s*:|###\s*(?:system|instruction)|"
    r"\{\s*\"(?:intent|plan|subject|filters|sql|query)\""
)
_LEAK_RE = _P(
    r"(?:システム|初期|内部|隠し|元の|最初の)?(?:プロンプト|指示文|システムメッセージ|初期設定|内部指示|"
    r"内部設定|設定内容|命令文|指示内容)(?:を|は|の)?(?:そのまま|全文|全部|すべて|原文)?"
    r"(?:表示|教え|出力|見せ|出して|開示|書き出|貼|コピー|繰り返|復唱|要約)|"
    r"システムプロンプト|system prompt|\bprompt\b.{0,20}\b(?:show|print|reveal|repeat)|"
    r"(?:show|print|reveal|repeat)\b.{0,20}\bprompt"
)
_SECRETS_RE = _P(
    r"パスワード|ぱすわーど|passwd|password|接続文字列|接続情報|認証情報|ログイン情報|apiキー|api key|"
    r"apikey|api_key|アクセストークン|トークン|\btoken\b|秘密鍵|シークレット|\bsecret|環境変数|\benv\b|"
    r"設定ファイル|クレデンシャル|credential|暗証番号|dbユーザ|データベースのユーザ|ssh|sshキー|証明書|"
    r"ipアドレス|ホスト名|ポート番号|接続先|サーバ(?:ー)?の(?:場所|アドレス|設定)|ソースコード|スキーマを(?:表示|見せ|教え)|"
    r"テーブル(?:一覧|定義|名を)|テーブルの(?:一覧|定義|構造)|カラム(?:一覧|名)"
)

_BULK = (
    r"全患者|全ての患者|すべての患者|全部の患者|患者全員|患者全体|全員|みんな|全件|全データ|全部|すべて|全て|"
    r"一覧|リスト|名簿|一括|まとめて|表にし|表で|csv|エクセル|excel|ファイル|各患者|患者ごと|患者別|"
    r"それぞれ|ダンプ|エクスポート|出力して|書き出"
)
_PII_STRONG = (
    r"住所|電話|でんわ|連絡先|携帯|メールアドレス|メアド|e-?mail|マイナンバー|個人番号|保険証|保険者番号|"
    r"被保険者|郵便番号|勤務先|職場|本籍|緊急連絡|家族の連絡|口座|クレジット|個人情報|プライバシー"
)
_PII_WEAK = r"氏名|名前|フルネーム|生年月日|誕生日|カナ氏名|ふりがな|フリガナ"
_BULK_STRONG = (
    r"全患者|全ての患者|すべての患者|全部の患者|患者全員|患者全体|全員|みんな|全件|名簿|一括|csv|"
    r"エクセル|excel|ダンプ|エクスポート|書き出"
)
_PII_BULK_RE = _P(rf"(?:{_PII_STRONG})")
_BULK_RE = _P(_BULK)
_PII_WEAK_RE = _P(_PII_WEAK)
_BULK_STRONG_RE = _P(_BULK_STRONG)
_EXFIL_RE = _P(
    r"ダンプ|\bdump\b|全テーブル|全てのテーブル|すべてのテーブル|テーブル(?:の中身|を全部|全部)|"
    r"データベース(?:の|を)?(?:中身|内容|全体|全部|丸ごと|まるごと)|db(?:の)?(?:中身|全体)|丸ごと|まるごと|"
    r"(?:patient|observation|encounter|condition|medicationrequest|allergyintolerance|resource)s?"
    r"(?:テーブル)?(?:の)?(?:中身|全部|全件)|(?:中身|全部|全件|すべて|全て)を?(?:json|xml|ndjson)|"
    r"全件(?:出力|表示|取得|抽出|エクスポート|見せ|出して|ちょうだい|送)|"
    r"外部(?:に|へ|の)|社外|院外|(?:メール|ファックス|fax|line|slack|チャット)(?:で|に|へ)(?:送|転送|共有)|"
    r"送信して|送って|送れ|転送して|usb|クラウド|持ち出|アップロード|ダウンロード|印刷して|プリントして|"
    r"faxして|ファックスして|公開して|sns|共有して|落として|外部送信|全部見せ|すべて見せ|全て見せ|"
    r"(?:全患者|全ての患者|すべての患者|患者全員|全員)(?:の|を)?.{0,20}(?:csv|エクセル|excel|ファイル|"
    r"ダウンロード|バックアップ|エクスポート)"
)
_ACCESS_RE = _P(
    r"(?:家族|親|妻|夫|子供|子ども|元恋人|元彼|元カノ|恋人|友人|知人|同僚|上司|部下|隣人)の(?:カルテ|検査|病名|記録|データ|情報|住所)|"
    r"自分の(?:カルテ|検査|病名|記録)|vip|著名人|有名人|芸能人|政治家|要人|職員(?:の|である)患者|スタッフの(?:カルテ|検査|病名|データ|記録)|"
    r"他科の患者|他の科の患者|担当外|担当していない患者|担当以外|他の医師の患者|他院|権限(?:外|を超え|がない|なし|を無視|を上げ)|"
    r"アクセス(?:制限|権)|閲覧制限|制限(?:を解除|を外|付き)|鍵付き|非公開|秘匿|隠された|削除済み|退職した?職員|"
    r"(?:全員|全患者|他科|含めて|みんな)(?:の|を)?.{0,10}(?:hiv|エイズ|aids|梅毒|性病|性感染症|精神疾患|遺伝子)"
)
_ADVICE_RE = _P(
    r"どちらが(?:優れ|良い|いい|よい|効|安全|おすすめ|お勧め)|どっちが(?:いい|良い|よい|効)|"
    r"どれが(?:いい|良い|よい|効|おすすめ|お勧め|安全)|(?:どの|何の)(?:薬|治療|抗菌薬|抗生剤)(?:が|を)(?:いい|良い|よい|使|選|出)|"
    r"一番(?:効く|良い|いい|よい|おすすめ)|最も(?:効果的|効く|良い)|おすすめ|お勧め|オススメ|推奨|第一選択|"
    r"べき[?かでだ]?|したほうが(?:いい|良い|よい)|した方が(?:いい|良い|よい)|予後|余命|治る|治りますか|"
    r"治療方針|治療法|診断して|何の病気|病気ですか|副作用(?:は|が)(?:大丈夫|心配|出る)|"
    r"飲み合わせ(?:は|が)|併用(?:して)?(?:も)?(?:大丈夫|いい|良い|問題)|大丈夫(?:です)?か|"
    r"(?:処方|出す|投与|使う|変更する)なら|どうすれば|どうしたら|何をすれば|量(?:は|を)(?:どのくらい|どれくらい)に|"
    r"何mgに(?:増|減|すれ|変)|何単位に(?:増|減|すれ)"
)
_KNOWLEDGE_RE = _P(
    r"(?:正常値|基準値|基準範囲|正常範囲|目標値|参考値|カットオフ)(?:は|を教え|って|とは|$|を?知り)|"
    # 「Xって何？」 asks what X is; 「Xの患者って何人？」 counts records (a counter follows).
    r"(?:とは|って)(?:何|なに|なん)(?![人名件回例種日歳年か箇ヶ度本錠単位つ%％]|mg|ml)|の意味|ガイドライン|"
    r"全国平均|全国の|日本の平均|一般的に|"
    r"臨床試験|治験の結果|論文|文献|エビデンス|作用機序|の効能|薬価"
)
_PREDICT_RE = _P(r"予測|予想して|しそうな|なりそうな|見込み|リスクを計算|将来")
_NOT_HELD_RE = _P(
    r"予約|シフト|勤務表|当直|手術|術式|処置歴|売上|収益|収入|医療費|自己負担|薬価|診療報酬|保険点数|"
    r"dpc|請求|会計|レセプト|看護記録|看護計画|カルテ記事|経過記録|記事|サマリー|サマリ|紹介状|診断書|"
    r"読影|画像|x線|レントゲン|\bct\b|\bmri\b|エコー|内視鏡|病理|生検|細胞診|医師は何人|医師の数|"
    r"医師数|看護師|スタッフ|職員|主治医|担当医|医師の連絡先|血液型|家族構成|家族歴|喫煙|たばこ|タバコ|"
    r"飲酒|死亡|死因|ワクチン|予防接種|接種歴|退院予定|空きベッド|空床|病床|ベッド数|待ち時間|天気|"
    r"ニュース|株価|救急車|満足度|アンケート|クレーム|苦情|駐車場|献立|給食|面会|遺伝子検査"
)

# clarify
_NO_PATIENT_RE = _P(
    r"(?:この|その|あの|例の|当該|同じ|さっきの|先ほどの|前の|くだんの|件の)(?:患者|人|ひと|方|かた|子)(?!数|口|物|法|向|式|たちの数)|"
    r"(?<![a-z])(?:彼|彼女)(?:の|は|に|が|を)|(?:あいつ|こいつ|そいつ)"
)
_NO_CONTEXT_RE = _P(
    r"前回と同じ|さっきと同じ|先ほどと同じ|同じ条件|同じ内容|(?:もう一度|もう1回|もう一回|再度)(?:出|見せ|教え|お願い|実行|検索)|"
    r"さっきの(?:続き|結果|条件)|前の(?:条件|質問)|(?:この|その)?前と同じ|"
    r"いつもの(?:条件|検索|やつ|リスト|一覧|抽出|集計)?(?:で|を)"
)
_VAGUE_TIME_RE = _P(
    r"最近(?!の?\d)|さいきん|しばらく|近頃|このところ|この頃|ここ最近|少し前|ちょっと前|この前|先日|"
    r"こないだ|この間|昔|一時期|前から|以前から|長いこと|久しく|ずっと前"
)
_VAGUE_ADJ = (
    r"高い|高め|高値|低い|低め|低値|悪い|悪く|良くない|よくない|多い|多め|少ない|少なめ|長い|短い|"
    r"異常(?!症)|おかしい|太って|太りすぎ|肥満気味|痩せ|やせ|高齢|若い|気味|ひどい|重い|重症(?!筋)|軽い|悪化|改善|"
    r"上がって(?:き|いる人|る人|いる患者)|下がって(?:き|いる人|る人|いる患者)|不良(?!症)|コントロール(?:が|の)?(?:悪|不良|良)|"
    r"要注意|危ない|危険な|やばい|ギリギリ|ぎりぎり|境界"
)
_VAGUE_ADJ_RE = _P(_VAGUE_ADJ)
_VAGUE_AGE_RE = _P(r"高齢|若い|年配|年寄り")
_NOT_VAGUE_RE = _P(
    r"最も|一番|いちばん|最高|最大|最小|最低|順に|順で|より(?:高|低)|前回より|前回と比べ|差|"
    r"高い順|低い順|以上|以下|未満|超え|を超|上回|下回"
)
_VAGUE_TARGET_RE = _P(
    r"(?:患者|人|ひと|方|さん|様)の(?:データ|数値|数字|情報|検査値|検査結果|状況|様子|状態)(?:を|が)?(?:全部)?"
    r"(?:見せ|教え|出し|知りたい|ちょうだい|ください|下さい)|"
    r"(?:データ|情報)を?(?:全部)?(?:見せ|ちょうだい)|なんか(?!い)|いい感じ|適当に|"
    r"(?:先週|昨日|今週|今日|先月)の患者の(?:データ|情報|様子|状態|検査)"
)
_PATIENT_GIVEN_RE = _P(
    r"\d{6,}|患者番号|患者id|\bid\b|\d{4}年\d{1,2}月\d{1,2}日|\d{4}[-/]\d{1,2}[-/]\d{1,2}|[(（][^)）]*生"
)
_THRESHOLD_GIVEN_RE = _P(r"\d")
_FAMILY_ONLY_RE = _P(
    r"(?<![一-龥々ぁ-んァ-ヶー])(?<![一-龥々ァ-ヶー]\s)[一-龥々]{1,2}(?:さん|様|さま|氏|くん|君|ちゃん)"
)
_EXPLICIT_PERIOD_RE = _P(
    r"\d+\s*(?:か月|ヶ月|カ月|ケ月|ヵ月|月|年|日|週|時間)|今年|昨年|去年|今年度|昨年度|令和|平成|先月|今月|先週|"
    r"今週|昨日|今日|本日|直近|過去|\d{4}"
)


def _refuse(code: str, reason: str) -> SafetyVerdict:
    return SafetyVerdict("refused", code, reason)


def _clarify(code: str, reason: str) -> SafetyVerdict:
    return SafetyVerdict("clarify", code, reason)


def _refusal(norm: str, comp: str, latin: str, latin_comp: str) -> SafetyVerdict | None:
    if (
        _SQL_SHAPE_RE.search(latin)
        or _SQL_SHAPE_RE.search(norm)
        or _SQL_COMPACT_RE.search(latin_comp)
        or _SQL_COMPACT_RE.search(comp)
    ):
        return _refuse(
            "sql_injection",
            "質問にSQLやデータベース操作の記述が含まれています。SQLは受け付けず、読み取りの質問だけに答えます。",
        )
    if _INJECTION_RE.search(norm) or _INJECTION_RE.search(comp):
        return _refuse(
            "prompt_injection",
            "指示の変更や権限の変更は受け付けません。検査値・病名・処方などを尋ねる質問だけに答えます。",
        )
    if _LEAK_RE.search(norm) or _LEAK_RE.search(comp):
        return _refuse("prompt_leak", "システムの内部の指示や設定は表示できません。")
    if _SECRETS_RE.search(norm) or _SECRETS_RE.search(comp):
        return _refuse("secrets", "パスワードや接続情報などの秘密情報には答えられません。")
    if (
        _WRITE_RE.search(comp)
        or _WRITE_VERBS_RE.search(comp)
        or _SET_VALUE_RE.search(norm)
        or _SQL_WRITE_RE.search(latin)
    ):
        return _refuse(
            "write",
            "データの登録・変更・削除やオーダーなどの操作はできません。"
            "この機能は読み取り専用で、質問に答えるだけです。",
        )
    if _EXFIL_RE.search(comp) or _EXFIL_RE.search(norm):
        return _refuse(
            "exfiltration",
            "データの一括出力・外部送信・データベースの丸ごとの表示はできません。",
        )
    if (_PII_BULK_RE.search(comp) and _BULK_RE.search(comp)) or (
        _PII_WEAK_RE.search(comp) and _BULK_STRONG_RE.search(comp)
    ):
        return _refuse(
            "bulk_personal_data",
            "複数の患者の住所・電話番号などの個人情報を一覧で出すことはできません。",
        )
    if _ACCESS_RE.search(comp) or _ACCESS_RE.search(norm):
        return _refuse(
            "access",
            "閲覧が制限されている患者や範囲外の患者の情報は表示できません。",
        )
    if _ADVICE_RE.search(comp):
        return _refuse(
            "medical_advice",
            "治療や薬の選択などの医学的な判断・助言はできません。記録されたデータについての質問に答えます。",
        )
    if _KNOWLEDGE_RE.search(comp) or _KNOWLEDGE_RE.search(norm):
        return _refuse(
            "general_knowledge",
            "一般的な医学知識や院外の統計には答えられません。この病院の記録についての質問に答えます。",
        )
    if _PREDICT_RE.search(comp):
        return _refuse(
            "prediction", "将来の予測はできません。記録されたデータについての質問に答えます。"
        )
    if _NOT_HELD_RE.search(comp) or _NOT_HELD_RE.search(norm):
        return _refuse(
            "not_held",
            "その情報はこのシステムに記録されていません（扱うのは患者基本情報・受診/入院・病名・"
            "検査値/バイタル・処方・アレルギーです）。",
        )
    return None


def _clarification(norm: str, comp: str) -> SafetyVerdict | None:
    has_patient = bool(_PATIENT_GIVEN_RE.search(comp) or _PATIENT_GIVEN_RE.search(norm))
    if _NO_CONTEXT_RE.search(comp):
        return _clarify(
            "no_context",
            "前の質問の内容は引き継いでいません。条件（対象・検査・期間など）を具体的に書いてください。",
        )
    if not has_patient and _NO_PATIENT_RE.search(comp):
        return _clarify(
            "no_patient",
            "どの患者か分かりません。患者番号、または氏名と生年月日で指定してください。",
        )
    if (
        _VAGUE_ADJ_RE.search(comp)
        and not _THRESHOLD_GIVEN_RE.search(comp)
        and not _NOT_VAGUE_RE.search(comp)
    ):
        return _clarify(
            "vague_threshold",
            "基準があいまいです。年齢の基準を指定してください（例: 75歳以上）。"
            if _VAGUE_AGE_RE.search(comp)
            else "基準があいまいです。検査名としきい値（例: HbA1c 7%以上）を指定してください。",
        )
    if _VAGUE_TIME_RE.search(comp) and not _EXPLICIT_PERIOD_RE.search(comp):
        return _clarify(
            "vague_time",
            "期間があいまいです。「直近3か月」「今年度」などの期間を指定してください。",
        )
    if _VAGUE_TARGET_RE.search(comp):
        return _clarify(
            "vague_target",
            "何を知りたいのかが特定できません。検査名・病名・薬剤名などを指定してください。",
        )
    if not has_patient and _FAMILY_ONLY_RE.search(norm) and not _FULL_NAME_RE.search(norm):
        return _clarify(
            "family_name_only",
            "姓だけでは患者を特定できません。フルネームと生年月日、または患者番号で指定してください。",
        )
    return None


_FULL_NAME_RE = _P(
    r"[一-龥々]{1,3}\s+[一-龥々ぁ-んァ-ヶー]{1,4}(?:さん|様|さま|氏)|[一-龥々]{3,5}(?:さん|様|さま|氏)|"
    r"[ァ-ヶー]{2,}\s+[ァ-ヶー]{1,}"
)


def check(question: str) -> SafetyVerdict | None:
    """A refusal or clarification for ``question``, or ``None`` when it may be planned."""
    norm = normalize(question)
    comp = _SEPARATORS.sub("", norm)
    latin = _latin_deleet(norm)
    latin_comp = _latin_deleet(comp)
    return _refusal(norm, comp, latin, latin_comp) or _clarification(norm, comp)
