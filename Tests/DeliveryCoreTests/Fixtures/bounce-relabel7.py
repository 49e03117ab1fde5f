# Round 7 (issue 12): one relabelling rule for the TUNING parts of bounce-corpus.jsonl, applied in place (idempotent).
#
# Rule: a provider's reply quoted by another source takes the class the provider's own documentation gives the same
# reply. The corpus already labels Gmail's and Yahoo's replies from the providers' pages (Fixtures/README.md: Google's
# "SMTP errors and codes" page, Yahoo's SMTP error codes page); sisimai's provider modules and test mails quote many
# of the same replies under sisimai's reasons, and where the two disagree the provider's wording decides (e.g. Google's
# "We weren't able to find the recipient domain" is a bad domain, not sisimai's userunknown; Yahoo's [TSS04] "temporarily
# deferred due to unexpected volume or user complaints" is a rate limit, as Yahoo's page and issue 12 say, not
# sisimai's rejected/badreputation). Fixed before the classifier was run on the result.
#   - documentation entries: source support.google.com/a/answer/3726730 (Gmail) or senders.yahooinc.com (Yahoo);
#   - a Yahoo reply: its text carries a Yahoo "[TSSnn]" tag; a Gmail reply: its source is sisimai's Google module
#     (go-sisimai rhost/for-google.go, rb-sisimai rhost google) or its provider is Gmail/google;
#   - same reply: word-set Jaccard >= 0.5 (bounce_pool_common.words) with the closest documentation entry of that
#     provider (ties: the first in file order); the entry takes that entry's class and, as every corpus entry, the
#     hardness of its own code (5xx hard, 4xx soft, a full mailbox soft).
# Only tuning parts are touched (bounce-corpus.jsonl holds no held-out part since round 6). Prints every change and the
# count per part to stderr.
# Usage: python3 bounce-relabel7.py  (rewrites bounce-corpus.jsonl next to it)
import json,os,sys,collections
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
import bounce_pool_common as common
here=os.path.dirname(os.path.abspath(__file__))
path=os.path.join(here,'bounce-corpus.jsonl')
lines=open(path,encoding='utf-8').read().split('\n')
entries=[json.loads(l) for l in lines if l]
def doc_of(e):
    if 'support.google.com/a/answer/3726730' in e['source']: return 'google'
    if 'senders.yahooinc.com' in e['source']: return 'yahoo'
    return None
def provider_of(e):
    if '[TSS' in e['reply']: return 'yahoo'
    s=e['source'].lower()
    if 'for-google.go' in s or 'rhost-google' in s or 'rhost/google' in s or e['provider'].lower() in ('gmail','google'): return 'google'
    return None
docs=collections.defaultdict(list)
for e in entries:
    if doc_of(e): docs[doc_of(e)].append(e)
changed=collections.Counter()
for e in entries:
    if doc_of(e): continue
    p=provider_of(e)
    if not p: continue
    w=common.words(e['reply'])
    best=None
    for d in docs[p]:
        j=common.jac(w,common.words(d['reply']))
        if best is None or j>best[0]: best=(j,d)
    if best and best[0]>=0.5 and best[1]['expectedClass']!=e['expectedClass']:
        print(f"[{e['split']}] {e['expectedClass']} -> {best[1]['expectedClass']}: {e['reply'][:100]}",file=sys.stderr)
        e['expectedClass']=best[1]['expectedClass']; e['hardness']=common.hardness(e['reply'],e['expectedClass'])
        changed[e['split']]+=1
with open(path,'w',encoding='utf-8') as f:
    for e in entries: f.write(json.dumps(e,ensure_ascii=False)+'\n')
print(f'relabelled per part: {dict(changed)}; total {sum(changed.values())}',file=sys.stderr)
