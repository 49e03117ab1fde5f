# Pool 6 (issue 12, round 4): sisimai's labelled error-message index as published in p5-sisimai (the Perl
# implementation), the texts go-sisimai's index (pool 4) does not hold.
# Source: github.com/sisimai/p5-sisimai `lib/Sisimai/Reason/<Reason>.pm`, the `state $index = [...]` list
# (a reply that contains one gets that reason) and the `state $pairs = [...]` list (all parts must appear, in
# order; stored as "first … second"), as bounce-pool4.py takes them from go-sisimai.
# Label: the reason, mapped with the corpus's fixed reason table (README.md; the same table as pool 4).
# Dedupe: exact or normalized copy of a corpus, pool 4 or pool 5 entry, word-set Jaccard >= 0.7 with any of
# them or with an earlier pool 6 entry, and (so that the tuning part holds no near-copy of a held-out text)
# Jaccard >= 0.5 with any held-out entry of the corpus or the pools. Text only (a plain 550), like pool 4.
# Usage: python3 bounce-pool6.py P5_SISIMAI_GIT_DIR > bounce-pool6.jsonl
import re,json,sys,collections,os
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
import bounce_pool_common as common
from bounce_pool_common import norm,words,jac
MAP={'userunknown':'bad-mailbox','suspend':'bad-mailbox','hasmoved':'bad-mailbox','hostunknown':'bad-domain','notaccept':'bad-domain',
'mailboxfull':'mailbox-full','mesgtoobig':'message-too-large','exceedlimit':'message-too-large','spamdetected':'spam-content','virusdetected':'spam-content',
'blocked':'reputation-block','badreputation':'reputation-block','authfailure':'auth-failure','requireptr':'auth-failure','toomanyconn':'rate-limited','speeding':'rate-limited',
'policyviolation':'policy','rejected':'policy','norelaying':'policy','notcompliantrfc':'policy','systemerror':'other','systemfull':'other','expired':'timeout','failedstarttls':'tls-failure',
'emailtoolarge':'message-too-large','ratelimited':'rate-limited'}
REPO=sys.argv[1] if len(sys.argv)>1 else '/work/.mirror/sisimai+p5-sisimai/repo'
def git(*a): return common.git(REPO,*a)
COMMIT=git('rev-parse','HEAD').strip()
here=os.path.dirname(os.path.abspath(__file__))
known=[json.loads(l) for name in ('bounce-corpus.jsonl','bounce-pool4.jsonl','bounce-pool5.jsonl') for l in open(os.path.join(here,name))]
have={e['reply'].lower() for e in known}; havenorm={norm(e['reply']) for e in known}
kw=[words(e['reply']) for e in known]; hw=[words(e['reply']) for e in known if e['split'].startswith('heldout')]
def strings(text):
    # Perl string literals in order: a quote opens a string only outside another one; `#` outside a
    # string starts a comment.
    out=[]; i=0
    while i<len(text):
        c=text[i]
        if c=='#':
            j=text.find('\n',i); i=len(text) if j<0 else j; continue
        if c in "'\"":
            j=i+1; buf=''
            while j<len(text) and text[j]!=c:
                if text[j]=='\\' and j+1<len(text): buf+=text[j+1]; j+=2; continue
                buf+=text[j]; j+=1
            out.append(buf); i=j+1; continue
        i+=1
    return out
def items():
    for f in sorted(git('ls-tree','--name-only','HEAD','lib/Sisimai/Reason/').split()):
        src=git('show','HEAD:'+f)
        reason=re.search(r"sub text\s*\{\s*'(\w+)'",src)
        if not reason: continue
        m=re.search(r'state \$index = \[(.*?)\n\s*\];',src,re.S)
        if m:
            for t in strings(m.group(1)): yield f,reason.group(1),t,'index'
        m=re.search(r'state \$pairs = \[(.*?)\n\s*\];',src,re.S)
        if m:
            for p in re.findall(r'\[([^\[\]]*)\]',m.group(1)):
                parts=[x.strip() for x in strings(p)]
                if len(parts)>=2: yield f,reason.group(1),' … '.join(parts),'pairs'
out=[];ow=[];why=collections.Counter()
for f,reason,t,kind in items():
    cls=MAP.get(reason); t=' '.join(t.split())
    if cls is None: why['reason not in the table']+=1; continue
    w=words(t)
    if not w: why['no words']+=1; continue
    if t.lower() in have or norm(t) in havenorm: why['exact/normalized copy']+=1; continue
    if any(jac(w,x)>=0.7 for x in kw): why['near-copy of a known entry']+=1; continue
    if any(jac(w,x)>=0.5 for x in hw): why['near a held-out entry']+=1; continue
    if any(jac(w,x)>=0.7 for x in ow): why['near-copy within pool']+=1; continue
    have.add(t.lower()); havenorm.add(norm(t)); ow.append(w)
    out.append({'reply':t,'expectedClass':cls,'hardness':'any','provider':'sisimai p5 '+kind,
                'source':f'https://github.com/sisimai/p5-sisimai/blob/{COMMIT}/{f} ({kind}, reason "{reason}")','split':'pool6'})
print(dict(why),len(out),collections.Counter(e['expectedClass'] for e in out),file=sys.stderr)
# Split with a fixed seed: shuffle, first 30 % heldout6, rest tune6.
common.split_and_print(out,20261207,'heldout6','tune6')
