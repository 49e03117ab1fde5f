# Pool 5 (issue 12, round 4): PHP-Bounce-Handler's response table, a source not used before.
# Source: github.com/cfortune/PHP-Bounce-Handler `bounce_responses.php`, the `$bouncelist` array that maps
# texts found in bounces (as case-insensitive regexes) to the RFC 3463 status code the project gives them.
# Label: that status code, mapped by this fixed table (RFC 3463 meanings; written before the classifier was
# run on any pool 5 entry): 5.1.1, 5.1.6, 5.2.1 -> bad-mailbox; 5.1.2, 5.4.4 -> bad-domain; 4.2.2 ->
# mailbox-full; 4.4.7 -> timeout; 5.4.6 -> other; 5.1.8 -> policy. Codes with no single class here are left
# out: 5.7.1 (any refusal: spam, block, policy), 4.3.2 (greylisting, busy, deferral), 5.2.0, 4.2.0, 5.5.0,
# 5.6.2, and the three entries that take the code from the text ('x').
# Text: the regex made literal when it is a plain phrase: `\'` -> `'`, `\.` -> `.`, `\ ` -> ` `, ` ?` -> ` `
# (an optional blank); entries that still hold a regex operator ([](){}|*+\^$ or ?) are left out.
# Dedupe: exact or normalized copy of a corpus or pool 4 entry, word-set Jaccard >= 0.7 with any of them or
# with an earlier pool 5 entry (as in bounce-pool4.py). Entries have no reply code: the test classifies them
# as text only (a plain 550), like pool 4.
# Usage: python3 bounce-pool5.py PHP_BOUNCE_HANDLER_GIT_DIR > bounce-pool5.jsonl
import re,json,sys,collections,os
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
import bounce_pool_common as common
from bounce_pool_common import norm,words,jac
MAP={'5.1.1':'bad-mailbox','5.1.6':'bad-mailbox','5.2.1':'bad-mailbox','5.1.2':'bad-domain','5.4.4':'bad-domain',
     '4.2.2':'mailbox-full','4.4.7':'timeout','5.4.6':'other','5.1.8':'policy'}
REPO=sys.argv[1] if len(sys.argv)>1 else '/work/.mirror/cfortune+PHP-Bounce-Handler/repo'
def git(*a): return common.git(REPO,*a)
COMMIT=git('rev-parse','HEAD').strip()
here=os.path.dirname(os.path.abspath(__file__))
known=[json.loads(l) for name in ('bounce-corpus.jsonl','bounce-pool4.jsonl') for l in open(os.path.join(here,name))]
have={e['reply'].lower() for e in known}; havenorm={norm(e['reply']) for e in known}
kw=[words(e['reply']) for e in known]
src=git('show','HEAD:bounce_responses.php')
body=src[src.index('$bouncelist'):]; body=body[:body.index(');')]
lineno=src[:src.index('$bouncelist')].count('\n')+1
out=[];ow=[];why=collections.Counter()
for k,line in enumerate(body.split('\n')):
    m=re.match(r"\s*'((?:[^'\\]|\\.)*)'\s*=>\s*'([^']*)'",line)
    if not m: continue
    pattern,code=m.group(1),m.group(2)
    cls=MAP.get(code)
    if cls is None: why['code with no single class']+=1; continue
    t=pattern.replace("\\'","'").replace('\\.','.').replace('\\ ',' ').replace(' ?',' ')
    if re.search(r'[][(){}|*+\\^$?]',t): why['regex operator']+=1; continue
    t=' '.join(t.split())
    if not words(t): why['no words']+=1; continue
    if t.lower() in have or norm(t) in havenorm: why['exact/normalized copy']+=1; continue
    w=words(t)
    if any(jac(w,x)>=0.7 for x in kw): why['near-copy of a corpus/pool 4 entry']+=1; continue
    if any(jac(w,x)>=0.7 for x in ow): why['near-copy within pool']+=1; continue
    have.add(t.lower()); havenorm.add(norm(t)); ow.append(w)
    out.append({'reply':t,'expectedClass':cls,'hardness':'any','provider':'PHP-Bounce-Handler response table',
                'source':f'https://github.com/cfortune/PHP-Bounce-Handler/blob/{COMMIT}/bounce_responses.php#L{lineno+k} (RFC 3463 code {code})','split':'pool5'})
print(dict(why),len(out),collections.Counter(e['expectedClass'] for e in out),file=sys.stderr)
# Split with a fixed seed: shuffle, first 30 % heldout5, rest tune5.
common.split_and_print(out,20261206,'heldout5','tune5')
