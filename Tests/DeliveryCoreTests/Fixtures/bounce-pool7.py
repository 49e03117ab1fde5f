# Pool 7 (issue 12, round 4): the sample replies of PHPMailer-BMH's rule table, all held out (`heldout7`).
# Source: github.com/voku/PHPMailer-BMH `src/BounceMailHandler/phpmailer-bmh_rules.php`: each rule is a
# comment `rule: <category>` with `sample:` lines (text quoted from a real bounce) followed by the code
# that assigns `rule_cat`. Entry: the sample lines joined by one blank, when the comment's category and the
# first `rule_cat` assigned after it agree.
# Label: the category, mapped by this fixed table (PHPMailer-BMH's categories; written before the
# classifier was run on any pool 7 entry): unknown, inactive -> bad-mailbox; dns_unknown -> bad-domain;
# full -> mailbox-full; oversize -> message-too-large; dns_loop -> other (mail loops); internal_error ->
# other (receiver-side errors). Left out, as they name no single class here: antispam (its bounce_type
# "blocked": content or sender), content_reject, command_reject, user_reject, defer, delayed, latin_only,
# autoreply, other.
# Dedupe: exact or normalized copy of a corpus or pool 4-6 entry, word-set Jaccard >= 0.7 with any of them
# or with an earlier pool 7 entry (as bounce-pool4.py). Text only (a plain 550), like pool 4.
# Usage: python3 bounce-pool7.py PHPMAILER_BMH_GIT_DIR > bounce-pool7.jsonl
import re,json,sys,collections,os
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
import bounce_pool_common as common
from bounce_pool_common import norm,words,jac
MAP={'unknown':'bad-mailbox','inactive':'bad-mailbox','dns_unknown':'bad-domain','full':'mailbox-full',
     'oversize':'message-too-large','dns_loop':'other','internal_error':'other'}
REPO=sys.argv[1] if len(sys.argv)>1 else '/work/.mirror/voku+PHPMailer-BMH/repo'
PATH='src/BounceMailHandler/phpmailer-bmh_rules.php'
COMMIT=common.git(REPO,'rev-parse','HEAD').strip()
here=os.path.dirname(os.path.abspath(__file__))
known=[json.loads(l) for name in ('bounce-corpus.jsonl','bounce-pool4.jsonl','bounce-pool5.jsonl','bounce-pool6.jsonl') for l in open(os.path.join(here,name))]
have={e['reply'].lower() for e in known}; havenorm={norm(e['reply']) for e in known}
kw=[words(e['reply']) for e in known]
src=common.git(REPO,'show','HEAD:'+PATH)
out=[];ow=[];why=collections.Counter()
for m in re.finditer(r'rule:\s*(\w+)(.*?)\*/',src,re.S):
    cat,body=m.group(1),m.group(2)
    line=src[:m.start()].count('\n')+1
    code=re.search(r"rule_cat'\]\s*=\s*'(\w+)'",src[m.end():])
    if not code or code.group(1)!=cat: why['comment and code disagree']+=1; continue
    if 'sample:' not in body: why['no sample']+=1; continue
    lines=[re.sub(r'^\s*\*?\s?','',l).strip() for l in body.split('sample:',1)[1].split('\n')]
    t=' '.join(l for l in lines if l)
    cls=MAP.get(cat)
    if cls is None: why['category with no single class']+=1; continue
    w=words(t)
    if not w: why['no words']+=1; continue
    if t.lower() in have or norm(t) in havenorm: why['exact/normalized copy']+=1; continue
    if any(jac(w,x)>=0.7 for x in kw): why['near-copy of a known entry']+=1; continue
    if any(jac(w,x)>=0.7 for x in ow): why['near-copy within pool']+=1; continue
    have.add(t.lower()); havenorm.add(norm(t)); ow.append(w)
    out.append({'reply':t,'expectedClass':cls,'hardness':'any','provider':'PHPMailer-BMH rule sample',
                'source':f'https://github.com/voku/PHPMailer-BMH/blob/{COMMIT}/{PATH}#L{line} (rule category {cat})','split':'heldout7'})
print(dict(why),len(out),collections.Counter(e['expectedClass'] for e in out),file=sys.stderr)
for e in out: print(json.dumps(e,ensure_ascii=False))
