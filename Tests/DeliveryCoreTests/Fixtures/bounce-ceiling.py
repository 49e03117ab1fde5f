# Round 8 (issue 12): how far do the public sources' labels agree with each other? No classifier is involved.
#
# Reads every fixture part (bounce-corpus.jsonl and bounce-pool4..10.jsonl, held-out parts included, because this
# measures the LABELS, not a classifier: nothing is tuned from it) and prints:
#   1. cross-source near-copies: pairs of entries from two different labelling sources whose normalised word sets
#      have a Jaccard similarity >= 0.5 (and >= 0.7), and how often their labels agree: class alone, class with
#      sisimai's conventions (BounceCorpus+SisimaiConventions.swift: a sisimai text entry also agrees with the
#      classes its reason's definition covers), and class + hardness (hardness compared only when both entries carry
#      a reply code; pool 4-7 texts have none, as in the test); the same for pairs within one source, for comparison;
#   2. the confusion of the disagreeing cross-source pairs and examples: TUNING parts only (a pair that touches
#      heldout9 or heldout10 is only counted, never printed, so no held-out text or label is shown);
#   3. a leave-one-source-out nearest-neighbour labeller: each entry of a source takes the label of its most similar
#      entry (word Jaccard) among all OTHER sources (ties: the label most of the tied neighbours carry, then the
#      earlier one in file order); per source, the agreement with the source's own label (an estimate of what copying
#      the other sources' conventions reaches on that source), over all its entries (no neighbour with a shared word:
#      counted as a disagreement) and over those whose nearest neighbour is a near-copy (Jaccard >= 0.5).
#
# Source = who labelled the entry (the mapping of a project's own label, or the page this project read):
# sisimai (set-of-emails, rb/go/p5-sisimai, libsisimai.org: corpus, tune2, heldout3, pools 4 and 6) is ONE source;
# Google's, Yahoo's, Microsoft's, Mimecast's and Comcast's pages, each vendor page of heldout2, ActiveCampaign's SMTP
# Field Manual, BounceParser, the NetEase list, the greylisting daemons, issue 12, PHP-Bounce-Handler (pool 5),
# PHPMailer-BMH (pool 7), ZoneMTA and @postalsys/bounce-classifier (pool 8), KumoMTA and crisp (pool 9), and each mail
# server of pool 10 are one source each.
# Normalisation: the pool scripts' dedupe word set (bounce_pool_common.words): lowercased, mail addresses removed,
# digits dropped (so IP addresses and reply/enhanced codes vanish), words = runs of ASCII letters, at least two long;
# host names and URLs keep their words as in the dedupe (a block list's name is content). Short texts make crude
# near-copies ("Recipient address rejected." and "Recipient address rejected: Greylisted" have J = 0.75), so the pair
# table also gives the pairs whose texts both hold at least 5 words.
# Caveat printed with the figures: every pool after the first corpus round was deduplicated against the earlier parts at
# Jaccard >= 0.7 (pool 6 also at 0.5 against held-out entries), so near-copies across sources are rarer here than in
# the sources themselves, and round 7's relabelling (bounce-relabel7.py) made 16 Gmail/Yahoo copies agree by rule;
# `--corpus FILE` measures another version of the corpus (e.g. the one before round 7:
# `git show acb416e^:Tests/DeliveryCoreTests/Fixtures/bounce-corpus.jsonl > /tmp/c6.jsonl`).
# Section 4 (with --pool4 GO_SISIMAI_GIT_DIR, the snapshot bounce-pool4.py reads): the candidates pool 4's dedupe dropped
# as copies of corpus replies that another source labelled, i.e. the cross-source copies the fixtures do not hold.
# Usage: python3 bounce-ceiling.py [--corpus FILE] [--pool4 GO_SISIMAI_GIT_DIR]
import collections,json,os,re,sys
HERE=os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0,HERE)
import bounce_pool_common as common
HELDOUT={'heldout9','heldout10'}
POOLS=['bounce-pool%d.jsonl'%i for i in range(4,11)]
# sisimai reason -> classes that also agree (BounceCorpus+SisimaiConventions.swift, pool text entries only).
ALSO={'blocked':{'auth-failure','policy'},'rejected':{'reputation-block'},'expired':{'dns-failure'},
      'policyviolation':{'spam-content'},'spamdetected':{'reputation-block'}}

def words(s):
    """The pools' dedupe word set (bounce_pool_common.words): addresses removed, digits and so IPs and codes dropped,
    runs of ASCII letters of two or more. Host names and URLs keep their words (a block list's name is content)."""
    return frozenset(common.words(s))
def jac(a,b): return len(a&b)/max(1,len(a|b))

def source_of(e):
    s=e['source']; low=s.lower()
    if 'sisimai' in low: return 'sisimai'
    for key,name in (('support.google.com','Google SMTP error page'),('senders.yahooinc.com','Yahoo error-code page'),
                     ('learn.microsoft.com','Microsoft Exchange Online NDR table'),('mimecast.com','Mimecast page'),
                     ('comcast.net','Comcast page'),('smtp-field-manual','SMTP Field Manual'),
                     ('deliverystatus-bounceparser','BounceParser'),('blog.sina.com.cn','NetEase list'),
                     ('postgrey','greylisting daemons'),('milter-greylist','greylisting daemons'),
                     ('php-bounce-handler','PHP-Bounce-Handler'),('phpmailer-bmh','PHPMailer-BMH'),
                     ('zone-mta','ZoneMTA'),('postalsys/bounce-classifier','postalsys bounce-classifier'),
                     ('kumomta','KumoMTA'),('crisp-oss','crisp bounce-parser')):
        if key in low: return name
    if s.startswith('issue 12'): return 'issue 12'
    if e['split']=='heldout10': return 'pool 10: '+e['provider']
    m=re.search(r'https?://([^/ ]+)',s)
    return 'page '+m.group(1).removeprefix('www.') if m else s[:40]

def reason_of(e):
    m=re.search(r'reason "([a-z]+)"',e['source'])
    return m.group(1) if e['hardness']=='any' and m else None
def agreeing(e): return {e['expectedClass']}|ALSO.get(reason_of(e),set())
def class_agree(a,b): return a['expectedClass']==b['expectedClass']
def conv_agree(a,b): return bool(agreeing(a)&agreeing(b))
def fh_agree(a,b):
    if not class_agree(a,b): return False
    return a['hardness']=='any' or b['hardness']=='any' or a['hardness']==b['hardness']

def load(corpus):
    rows=[]
    for name in [corpus]+[os.path.join(HERE,p) for p in POOLS]:
        for line in open(name,encoding='utf-8'):
            e=json.loads(line)
            e['src']=source_of(e); e['w']=words(e['reply']); e['file']=os.path.basename(name)
            if e['w']: rows.append(e)
    return rows

def pct(n,d): return f'{n}/{d} = {100*n/d:.1f} %' if d else '0/0'

def main():
    args=sys.argv[1:]
    corpus=args[args.index('--corpus')+1] if '--corpus' in args else os.path.join(HERE,'bounce-corpus.jsonl')
    rows=load(corpus)
    n=len(rows)
    print(f'{n} entries with at least one word, {len(set(e["src"] for e in rows))} sources')
    # Inverted index: only pairs sharing a word can reach a Jaccard of 0.5.
    index=collections.defaultdict(list)
    for i,e in enumerate(rows):
        for w in e['w']: index[w].append(i)
    sims=[collections.defaultdict(float) for _ in rows]   # i -> {j: jaccard} for every j sharing a word
    for i,e in enumerate(rows):
        cand=set()
        for w in e['w']: cand.update(index[w])
        cand.discard(i)
        for j in cand: sims[i][j]=jac(e['w'],rows[j]['w'])

    # 1. Pairs.
    print('\n## 1. Near-copies: how often two labels of (nearly) the same reply agree\n')
    print('| pairs | Jaccard | pairs | class agrees | class agrees (sisimai conventions) | class + hardness agree |')
    print('|---|---|---|---|---|---|')
    tuning_disagree={}
    for thr in (0.5,0.7):
        groups={'cross-source, all parts':[], 'cross-source, both texts >= 5 words':[], 'cross-source, tuning parts only':[],
                'cross-source, touching heldout9/10':[], 'within one source (for comparison)':[]}
        for i in range(n):
            for j,s in sims[i].items():
                if j<=i or s<thr: continue
                a,b=rows[i],rows[j]
                if a['src']==b['src']: groups['within one source (for comparison)'].append((a,b)); continue
                groups['cross-source, all parts'].append((a,b))
                if min(len(a['w']),len(b['w']))>=5: groups['cross-source, both texts >= 5 words'].append((a,b))
                held=a['split'] in HELDOUT or b['split'] in HELDOUT
                groups['cross-source, touching heldout9/10' if held else 'cross-source, tuning parts only'].append((a,b))
        for name,ps in groups.items():
            print(f'| {name} | >= {thr} | {len(ps)} | {pct(sum(class_agree(a,b) for a,b in ps),len(ps))} | '
                  f'{pct(sum(conv_agree(a,b) for a,b in ps),len(ps))} | {pct(sum(fh_agree(a,b) for a,b in ps),len(ps))} |')
        tuning_disagree[thr]=[(a,b) for a,b in groups['cross-source, tuning parts only'] if not conv_agree(a,b)]
    # Per entry: the nearest cross-source near-copy (an entry with many copies counts once).
    print('\nPer entry (each entry with a cross-source near-copy counted once, against its most similar one):\n')
    print('| Jaccard | entries with a cross-source near-copy | nearest copy agrees (class) | (sisimai conventions) |')
    print('|---|---|---|---|')
    for thr in (0.5,0.7):
        tot=ag=agc=0
        for i,e in enumerate(rows):
            best=max(((s,j) for j,s in sims[i].items() if rows[j]['src']!=e['src'] and s>=thr),default=None,key=lambda t:(t[0],-t[1]))
            if best is None: continue
            o=rows[best[1]]; tot+=1; ag+=class_agree(e,o); agc+=conv_agree(e,o)
        print(f'| >= {thr} | {tot} | {pct(ag,tot)} | {pct(agc,tot)} |')

    # 2. Confusion of disagreements (tuning parts only) and examples.
    print('\n## 2. Disagreeing cross-source pairs, tuning parts only (sisimai conventions applied)\n')
    for thr in (0.5,0.7):
        dis=tuning_disagree[thr]
        conf=collections.Counter(tuple(sorted((a['expectedClass'],b['expectedClass']))) for a,b in dis)
        srcs=collections.Counter(tuple(sorted((a['src'],b['src']))) for a,b in dis)
        print(f'Jaccard >= {thr}: {len(dis)} disagreeing pairs. Class pairs: '
              + ', '.join(f'{x} / {y} {k}' for (x,y),k in conf.most_common()))
        print('  Source pairs: '+', '.join(f'{x} / {y} {k}' for (x,y),k in srcs.most_common(12)))
    print('\nExamples (Jaccard >= 0.5, tuning parts only, most similar first, one per class pair):\n')
    seen=set()
    for a,b in sorted(tuning_disagree[0.5],key=lambda p:-jac(p[0]['w'],p[1]['w'])):
        key=tuple(sorted((a['expectedClass'],b['expectedClass'])))
        if key in seen: continue
        seen.add(key)
        print(f'- J={jac(a["w"],b["w"]):.2f}  [{a["src"]}: {a["expectedClass"]}] {a["reply"][:110]!r}')
        print(f'          [{b["src"]}: {b["expectedClass"]}] {b["reply"][:110]!r}')

    # 3. Leave-one-source-out 1-NN.
    print('\n## 3. Leave-one-source-out nearest neighbour: each entry labelled by its most similar entry of another source\n')
    print('| source | parts | entries | 1-NN agrees (class) | (sisimai conventions) | family+hardness | '
          'entries with a near-copy (J >= 0.5) | 1-NN agrees on those |')
    print('|---|---|---|---|---|---|---|---|')
    def hardness(reply,cls):
        return 'soft' if cls=='mailbox-full' or reply[:1]=='4' else 'hard'
    per=collections.defaultdict(lambda: collections.Counter())
    parts=collections.defaultdict(set)
    for i,e in enumerate(rows):
        src=e['src']; parts[src].add(e['split'])
        cands=[(s,j) for j,s in sims[i].items() if rows[j]['src']!=src]
        c=per[src]; c['n']+=1
        if not cands: continue
        top=max(s for s,_ in cands)
        tied=sorted(j for s,j in cands if s==top)
        votes=collections.Counter(rows[j]['expectedClass'] for j in tied)
        best=max(votes.values())
        label=next(rows[j]['expectedClass'] for j in tied if votes[rows[j]['expectedClass']]==best)
        ok=label==e['expectedClass']; okc=label in agreeing(e)
        okh=okc and (e['hardness']=='any' or hardness(e['reply'],label)==e['hardness'])
        c['ok']+=ok; c['okc']+=okc; c['okh']+=okh
        if top>=0.5: c['near']+=1; c['nearok']+=okc
    total=collections.Counter()
    # A held-out source of fewer than 5 entries is not printed on its own row (a row of 1 would tell
    # whether one held-out label matches its neighbour): such sources share one row.
    small=collections.Counter(); small_parts=set()
    for src in sorted(per,key=lambda s:-per[s]['n']):
        c=per[src]; total.update(c)
        if parts[src] <= set(HELDOUT) and c['n'] < 5:
            small.update(c); small_parts |= parts[src]
            continue
        print(f'| {src} | {",".join(sorted(parts[src]))} | {c["n"]} | {pct(c["ok"],c["n"])} | {pct(c["okc"],c["n"])} | '
              f'{pct(c["okh"],c["n"])} | {c["near"]} | {pct(c["nearok"],c["near"])} |')
    if small['n']:
        c=small
        print(f'| held-out sources of < 5 entries each | {",".join(sorted(small_parts))} | {c["n"]} | {pct(c["ok"],c["n"])} | '
              f'{pct(c["okc"],c["n"])} | {pct(c["okh"],c["n"])} | {c["near"]} | {pct(c["nearok"],c["near"])} |')
    print(f'| **all sources** | | {total["n"]} | {pct(total["ok"],total["n"])} | {pct(total["okc"],total["n"])} | '
          f'{pct(total["okh"],total["n"])} | {total["near"]} | {pct(total["nearok"],total["near"])} |')
    for name,keep in (('tuning parts',lambda e:e['split'] not in HELDOUT),('heldout9+heldout10',lambda e:e['split'] in HELDOUT)):
        sub=collections.Counter()
        for i,e in enumerate(rows):
            if not keep(e): continue
            cands=[(s,j) for j,s in sims[i].items() if rows[j]['src']!=e['src']]
            sub['n']+=1
            if not cands: continue
            top=max(s for s,_ in cands); tied=sorted(j for s,j in cands if s==top)
            votes=collections.Counter(rows[j]['expectedClass'] for j in tied); best=max(votes.values())
            label=next(rows[j]['expectedClass'] for j in tied if votes[rows[j]['expectedClass']]==best)
            sub['okc']+=label in agreeing(e)
            sub['okh']+=label in agreeing(e) and (e['hardness']=='any' or hardness(e['reply'],label)==e['hardness'])
        print(f'\n1-NN over {name}: class (conventions) {pct(sub["okc"],sub["n"])}, family+hardness {pct(sub["okh"],sub["n"])}', end='')
    print('\n\nCaveat: the pools were deduplicated against earlier parts at Jaccard >= 0.7, so cross-source near-copies are '
          'under-represented; pool 4-7 texts carry no code (hardness not compared).')

def pool4_drops(go_dir,corpus):
    """Section 4: the candidates bounce-pool4.py dropped as exact, normalized or near copies (Jaccard >= 0.7) of a
    corpus entry: each is a sisimai-labelled copy of a reply the corpus already holds, so the pair (sisimai's label,
    the corpus entry's label) is a cross-source near-copy that the dedupe kept out of the fixtures. The extraction is
    bounce-pool4.py's own (its code up to its main loop is run with the snapshot's path), nothing re-implemented."""
    src=open(os.path.join(HERE,'bounce-pool4.py'),encoding='utf-8').read()
    prefix=src[:src.index('for f,reason,t,kind in items_of():')]
    argv=sys.argv; sys.argv=['bounce-pool4.py',go_dir]
    env={'__file__':os.path.join(HERE,'bounce-pool4.py'),'__name__':'pool4'}
    try: exec(compile(prefix,'bounce-pool4.py','exec'),env)
    finally: sys.argv=argv
    entries=[json.loads(l) for l in open(corpus,encoding='utf-8')]
    for e in entries: e['src']=source_of(e); e['w']=words(e['reply'])
    pairs=[]; seen=set()
    for f,reason,t,kind in env['items_of']():
        cls=env['MAPX'].get(reason); t=t.replace('\\"','"').strip(); w=words(t)
        if cls is None or not w or (t.lower(),reason) in seen: continue
        seen.add((t.lower(),reason))
        cand={'reply':t,'expectedClass':cls,'hardness':'any','source':f'{f} (reason "{reason}")','split':'pool4-drop','w':w}
        copies=[e for e in entries if e['src']!='sisimai' and (e['reply'].lower()==t.lower() or common.norm(e['reply'])==common.norm(t) or jac(w,e['w'])>=0.7)]
        if copies:
            best=max(copies,key=lambda e:jac(w,e['w']))
            pairs.append((cand,best))
    print('\n## 4. Pool 4 candidates dropped as copies of corpus replies labelled by another source\n')
    ag=sum(class_agree(a,b) for a,b in pairs); agc=sum(conv_agree(a,b) for a,b in pairs)
    print(f'{len(pairs)} sisimai index texts are copies (exact, normalized or Jaccard >= 0.7) of a corpus reply labelled by '
          f'another source; nearest copy agrees: class {pct(ag,len(pairs))}, with sisimai conventions {pct(agc,len(pairs))}')
    conf=collections.Counter((a['expectedClass'],b['expectedClass']) for a,b in pairs if not conv_agree(a,b))
    srcs=collections.Counter(b['src'] for a,b in pairs); srcd=collections.Counter(b['src'] for a,b in pairs if not conv_agree(a,b))
    print('By source of the corpus copy (disagreeing/all): '+', '.join(f'{k} {srcd[k]}/{v}' for k,v in srcs.most_common()))
    print('Disagreements (sisimai label / corpus label): '+', '.join(f'{x} / {y} {k}' for (x,y),k in conf.most_common()))
    for a,b in sorted((p for p in pairs if not conv_agree(*p)),key=lambda p:-jac(p[0]['w'],p[1]['w']))[:12]:
        print(f'- [sisimai {a["source"].split("(")[1].rstrip(")")}: {a["expectedClass"]}] {a["reply"][:90]!r}')
        print(f'      [{b["src"]}, {b["split"]}: {b["expectedClass"]}] {b["reply"][:90]!r}')

if __name__=='__main__':
    main()
    if '--pool4' in sys.argv:
        pool4_drops(sys.argv[sys.argv.index('--pool4')+1],
                    sys.argv[sys.argv.index('--corpus')+1] if '--corpus' in sys.argv else os.path.join(HERE,'bounce-corpus.jsonl'))
