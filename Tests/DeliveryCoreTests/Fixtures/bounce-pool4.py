# Pool 4 (issue 12, round 3): sisimai's own labelled error-message index, drawn in bulk.
# Source family: go-sisimai reason/why-<reason>.go, the `index := []string{...}` list of each reason's
# IncludedIn function (texts sisimai collected from real bounces; a reply containing one gets that reason).
# Label: the reason of the file, mapped with the corpus's fixed table (Fixtures/README.md; written
# before the classifier was run on any of these). `isnot` exclusion lists are not taken; each two-part
# `pairs` entry (both parts must appear, in order) is taken as "first … second".
# Also the `messagesof` tables (reason -> texts) of go-sisimai lhost/via-*.go and rhost/for-*.go.
# Dedupe: exact or normalized copy of a corpus entry, Jaccard of word sets >= 0.7 with any corpus entry
# or with an earlier pool entry. Entries have no reply code: the test classifies them as text only.
# Usage: python3 bounce-pool4.py GO_SISIMAI_GIT_DIR > bounce-pool4.jsonl  (reads bounce-corpus.jsonl next to it)
import re,json,sys,collections,os
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
import bounce_pool_common as common
from bounce_pool_common import norm,words,jac
# The corpus's fixed reason table (README.md), written before any pool entry was classified.
MAP={'userunknown':'bad-mailbox','suspend':'bad-mailbox','hasmoved':'bad-mailbox','hostunknown':'bad-domain','notaccept':'bad-domain',
'mailboxfull':'mailbox-full','mesgtoobig':'message-too-large','exceedlimit':'message-too-large','spamdetected':'spam-content','virusdetected':'spam-content',
'blocked':'reputation-block','badreputation':'reputation-block','authfailure':'auth-failure','requireptr':'auth-failure','toomanyconn':'rate-limited','speeding':'rate-limited',
'policyviolation':'policy','rejected':'policy','norelaying':'policy','notcompliantrfc':'policy','systemerror':'other','systemfull':'other','expired':'timeout','failedstarttls':'tls-failure'}
GO=sys.argv[1] if len(sys.argv)>1 else '/work/.mirror/sisimai+go-sisimai/repo'
def git(*a): return common.git(GO,*a)
COMMIT=git('rev-parse','HEAD').strip()
CORPUS=os.path.join(os.path.dirname(os.path.abspath(__file__)),'bounce-corpus.jsonl')
corpus=[json.loads(l) for l in open(CORPUS)]
MAPX=dict(MAP); MAPX.update({'emailtoolarge':'message-too-large','ratelimited':'rate-limited'})
have={e['reply'].lower() for e in corpus}; havenorm={norm(e['reply']) for e in corpus}
cw=[words(e['reply']) for e in corpus]
out=[];ow=[];why=collections.Counter()
def items_of():
    for f in sorted(git('ls-tree','--name-only','HEAD','reason/').split()):
        m=re.match(r'reason/why-(\w+)\.go$',f)
        if not m: continue
        src=re.sub(r'//[^\n]*','',git('show','HEAD:'+f))
        blk=re.search(r'index\s*:=\s*\[\]string\{(.*?)\n\s*\}',src,re.S)
        if blk:
            for t in re.findall(r'"((?:[^"\\]|\\.)*)"',blk.group(1)): yield f,m.group(1),t,'IncludedIn index'
        blk=re.search(r'pairs\s*:=\s*\[\]\[\]string\{(.*?)\n\s*\}\n',src,re.S)
        if blk:
            for p in re.findall(r'\{([^{}]*)\}',blk.group(1)):
                parts=[x.strip() for x in re.findall(r'"((?:[^"\\]|\\.)*)"',p)]
                if len(parts)>=2: yield f,m.group(1),' … '.join(parts),'IncludedIn pairs'
    for f in sorted(git('ls-tree','--name-only','HEAD','lhost/','rhost/').split()):
        if f.endswith('_test.go'): continue
        src=re.sub(r'//[^\n]*','',git('show','HEAD:'+f))
        for m in re.finditer(r'messagesof\s*:?=\s*map\[string\]\[\]string\s*\{',src):
            i=m.end(); depth=1; j=i
            while depth:
                c=src[j]; depth+=(c=='{')-(c=='}'); j+=1
            for km in re.finditer(r'"(\w+)"\s*:\s*(?:\[\]string)?\s*\{(.*?)\}',src[i:j-1],re.S):
                for t in re.findall(r'"((?:[^"\\]|\\.)*)"',km.group(2)): yield f,km.group(1),t,'messagesof table'
for f,reason,t,kind in items_of():
        cls=MAPX.get(reason)
        t=t.replace('\\"','"').strip()
        if cls is None: why['reason not in the table']+=1; continue
        if len(words(t))==0: why['no words']+=1; continue
        if t.lower() in have or norm(t) in havenorm: why['exact/normalized copy']+=1; continue
        w=words(t)
        if any(jac(w,x)>=0.7 for x in cw): why['near-copy of a corpus entry']+=1; continue
        if any(jac(w,x)>=0.7 for x in ow): why['near-copy within pool']+=1; continue
        have.add(t.lower()); havenorm.add(norm(t)); ow.append(w)
        out.append({'reply':t,'expectedClass':cls,'hardness':'any','provider':'sisimai '+kind,'source':f'https://github.com/sisimai/go-sisimai/blob/{COMMIT}/{f} ({kind}, reason "{reason}")','split':'pool4'})
print(why,len(out),collections.Counter(e['expectedClass'] for e in out),file=sys.stderr)
# Split with a fixed seed: shuffle, first 30 % heldout4, rest tune4.
common.split_and_print(out,20261205,'heldout4','tune4')
