# Pool 9 (issue 12, round 6): a fresh held-out pool (`heldout9`) from two labelled sources not used before.
# Written and committed before the classifier was run on any of it and before any classifier change of
# round 6; the label tables below were fixed before the first extraction.
#
# Source A: KumoMTA's community bounce classification rules (github.com/KumoCorp/kumomta
# `assets/community/bounces.toml`, every version in the snapshot's history, newest first: a rule that moved
# between classifications keeps the newest one; rules removed later are still taken from the version that had them). Each rule is a
# regex under a classification name ("InvalidRecipient = [ ... ]"), written by KumoMTA users from replies
# they received (provider named in the rule's comment). Entry: a rule that starts with `^` and a basic reply
# code and is otherwise literal text; `.+`/`.*` become " … " (as pool 4's two-part pairs), `\.`, `\(`, ...
# become the character; rules with any other regex operator (classes, groups, alternation, `\d`, `\s`, `?`)
# are left out. The reply is "<code> <rest>", so it carries its basic code (and enhanced code when the rule
# names one).
# Source B: crisp-oss/email-bounce-parser's test fixtures (github.com/crisp-oss/email-bounce-parser
# `test/fixtures/*.txt`: real bounce mails, anonymised by the project, from Gmail, Outlook, Yahoo, iCloud,
# Orange, La Poste, SFR, Mail.ru, QQ, NetEase, ProtonMail, Zoho, T-Online, ...), labelled by the
# `data.error.data.type` that the project's test asserts (`test/fixtures/expected/<name>.json`). Reply: the
# expected `email.error` text from the first reply code on (the "<rcpt>: host ... said:" prefix cut),
# "(in reply to ... command)" cut. Fixtures whose error holds no reply code are left out.
#
# Labels (fixed tables, written before the classifier was run on any pool 9 entry):
# A, by KumoMTA classification (meanings from docs/reference/kumo/configure_bounce_classifier.md):
#   InvalidRecipient, InactiveMailbox -> bad-mailbox; BadDomain -> bad-domain; QuotaIssues -> mailbox-full;
#   DNSFailure -> dns-failure; AuthenticationFailed -> auth-failure; PolicyRelated, RelayDenied,
#   ProhibitedAttachment, InvalidSender -> policy; SpamBlock -> reputation-block; SpamContent, VirusRelated
#   -> spam-content; MessageExpired, NoAnswerFromHost, BadConnection -> timeout; ProtocolErrors -> other.
#   Left out (no single class here): RoutingErrors (relay refusals, unroutable addresses and mail loops in
#   one list), TransientFailure, ContentRelated, BadConfiguration, and any other name.
# B, by the test's `data.error.data.type`: no_such_recipient -> bad-mailbox; mailbox_full,
#   mailbox_over_quota -> mailbox-full; spam_content -> spam-content; ip_blocked_spam, reputation ->
#   reputation-block; authentication_failure -> auth-failure; server_timeout -> timeout;
#   action_not_taken_mailbox_rate_limited -> rate-limited. Left out: recipient_disabled_or_recipient_rate_limited
#   (two classes) and fixtures without a type (null).
# Where a source's label and the reply's text disagree, the label stays.
# Hardness as in the corpus: 5xx hard, 4xx soft, mailbox-full soft. Entries carry their reply code and are
# compared on family and hardness like corpus entries.
# Dedupe (as bounce-pool8.py): replies without an ASCII word, exact or normalized copies of a corpus or pool 4-8
# entry, word-set Jaccard >= 0.7 with any of them or with an earlier pool 9 entry are dropped.
# Usage: python3 bounce-pool9.py KUMOMTA_GIT_DIR CRISP_BOUNCE_PARSER_GIT_DIR > bounce-pool9.jsonl
import re,json,sys,collections,os
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
import bounce_pool_common as common
A={'InvalidRecipient':'bad-mailbox','InactiveMailbox':'bad-mailbox','BadDomain':'bad-domain','QuotaIssues':'mailbox-full',
   'DNSFailure':'dns-failure','AuthenticationFailed':'auth-failure','PolicyRelated':'policy','RelayDenied':'policy',
   'ProhibitedAttachment':'policy','InvalidSender':'policy','SpamBlock':'reputation-block','SpamContent':'spam-content',
   'VirusRelated':'spam-content','MessageExpired':'timeout','NoAnswerFromHost':'timeout','BadConnection':'timeout',
   'ProtocolErrors':'other'}
B={'no_such_recipient':'bad-mailbox','mailbox_full':'mailbox-full','mailbox_over_quota':'mailbox-full',
   'spam_content':'spam-content','ip_blocked_spam':'reputation-block','reputation':'reputation-block',
   'authentication_failure':'auth-failure','server_timeout':'timeout','action_not_taken_mailbox_rate_limited':'rate-limited'}
KREPO=sys.argv[1] if len(sys.argv)>1 else '/work/.mirror/KumoCorp+kumomta/repo'
CREPO=sys.argv[2] if len(sys.argv)>2 else '/work/.mirror/crisp-oss+email-bounce-parser/repo'
KPATH='assets/community/bounces.toml'
here=os.path.dirname(os.path.abspath(__file__))
out=[];why=collections.Counter()
dedupe=common.Dedupe(common.known_replies(here,('bounce-corpus.jsonl','bounce-pool4.jsonl','bounce-pool5.jsonl','bounce-pool6.jsonl','bounce-pool7.jsonl','bounce-pool8.jsonl')),why)
def add(t,cls,provider,source):
    if dedupe.keep(t):
        out.append({'reply':t,'expectedClass':cls,'hardness':common.hardness(t,cls),'provider':provider,'source':source,'split':'heldout9'})
def literal(rx):
    """The text a KumoMTA rule regex stands for, or None when it holds a regex operator other than .+/.* gaps."""
    m=re.match(r'\^([245]\d\d)',rx)
    if not m: return None
    code=m.group(1); s=rx[m.end():]; t=''; i=0
    while i<len(s):
        c=s[i]
        if c=='\\':
            if i+1<len(s) and not s[i+1].isalnum(): t+=s[i+1]; i+=2; continue
            return None
        if c=='.' and i+1<len(s) and s[i+1] in '+*': t+=' … '; i+=2; continue
        if c=='$' and i==len(s)-1: i+=1; continue
        if c in '[](){}|?*+^$': return None
        t+=c; i+=1
    t=' '.join(t.split())
    return code+' '+t if t and t[0]!='…' else code+' '+t
# Source A
revs=common.git(KREPO,'log','--format=%H','--',KPATH).split()
seen=set()
for rev in revs:
    cls_name=None
    for n,line in enumerate(common.git(KREPO,'show',f'{rev}:{KPATH}').split('\n'),1):
        s=line.strip()
        m=re.match(r'^([A-Za-z]+)\s*=\s*\[',s)
        if m: cls_name=m.group(1); continue
        if s.startswith(']'): cls_name=None; continue
        m=re.match(r'^"((?:[^"\\]|\\.)*)"\s*,?\s*(#\s*(.*))?$',s)
        if not m or cls_name is None: continue
        rx=json.loads('"'+m.group(1)+'"'); note=(m.group(3) or '').strip()
        if rx in seen: continue
        seen.add(rx)
        cls=A.get(cls_name)
        if cls is None: why['KumoMTA class with no single class: '+cls_name]+=1; continue
        t=literal(rx)
        if t is None: why['KumoMTA rule not literal']+=1; continue
        add(t,cls,'KumoMTA community rule'+(f' ({note})' if note else ''),
            f'https://github.com/KumoCorp/kumomta/blob/{rev}/{KPATH}#L{n} ({cls_name})')
# Source B
CC=common.git(CREPO,'rev-parse','HEAD').strip()
names=sorted(p[len('test/fixtures/expected/'):-5] for p in common.git(CREPO,'ls-tree','-r','--name-only','HEAD','test/fixtures/expected').split() if p.endswith('.json'))
for name in names:
    d=json.loads(common.git(CREPO,'show',f'HEAD:test/fixtures/expected/{name}.json'))
    err=((d.get('data') or {}).get('error') or {})
    typ=(err.get('data') or {}).get('type')
    cls=B.get(typ)
    if cls is None: why[f'crisp type with no single class: {typ}']+=1; continue
    text=' '.join(((d.get('email') or {}).get('error') or '').split())
    m=re.search(r'(?<![\d.])[245]\d\d[ -]',text)
    if not m: why['crisp fixture without reply code']+=1; continue
    t=text[m.start():]
    t=re.sub(r'\s*\(in reply to [^)]*\)\s*$','',t).strip()
    add(t,cls,'crisp email-bounce-parser fixture',
        f'https://github.com/crisp-oss/email-bounce-parser/blob/{CC}/test/fixtures/{name}.txt (expected data.error.data.type: {typ})')
print(dict(why),len(out),collections.Counter(e['expectedClass'] for e in out),file=sys.stderr)
for e in out: print(json.dumps(e,ensure_ascii=False))
