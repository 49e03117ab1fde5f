# Shared helpers of the bounce-pool*.py extraction scripts: text normalisation, word sets, Jaccard
# similarity, git access to a source snapshot and the seeded 30 % held-out split.
import re,json,random,subprocess
def norm(s):
    s=s.lower()
    s=re.sub(r'\S+@\S+','<a>',s)
    s=re.sub(r'\d+\.\d+\.\d+\.\d+','<ip>',s)
    s=re.sub(r'\d+','#',s)
    s=re.sub(r'[^a-z#<> ]',' ',s)
    return ' '.join(s.split())
def words(s):
    s=s.lower(); s=re.sub(r'\S+@\S+',' ',s); s=re.sub(r'[^a-z ]',' ',s)
    return set(w for w in s.split() if len(w)>1)
def jac(a,b): return len(a&b)/max(1,len(a|b))
def git(repo,*a): return subprocess.run(['git','-C',repo]+list(a),capture_output=True,text=True).stdout
def split_and_print(out,seed,held,tune):
    """Shuffle the indices with random.Random(seed); the first 30 % are `held`, the rest `tune`; print JSON lines."""
    rng=random.Random(seed)
    idx=list(range(len(out))); rng.shuffle(idx)
    nh=round(len(out)*0.3)
    for k,i in enumerate(idx): out[i]['split']=held if k<nh else tune
    for e in out: print(json.dumps(e,ensure_ascii=False))
def known_replies(here,names):
    """The replies of the fixture files `names` next to the scripts."""
    import os
    return [json.loads(l)['reply'] for name in names for l in open(os.path.join(here,name),encoding='utf-8')]
def hardness(reply,cls):
    """As in the corpus: 5xx hard, 4xx soft, a full mailbox soft."""
    return 'soft' if cls=='mailbox-full' or reply[0]=='4' else 'hard'
class Dedupe:
    """The pools' dedupe: a text without an ASCII word, an exact or normalized copy of a known reply, or a word-set
    Jaccard >= 0.7 with a known reply or with a text kept earlier is dropped (counted in `why` by reason)."""
    def __init__(self,known,why):
        self.have={r.lower() for r in known}; self.havenorm={norm(r) for r in known}
        self.kw=[words(r) for r in known]; self.ow=[]; self.why=why
    def keep(self,t):
        w=words(t)
        if not w: self.why['no words']+=1; return False
        if t.lower() in self.have or norm(t) in self.havenorm: self.why['exact/normalized copy']+=1; return False
        if any(jac(w,x)>=0.7 for x in self.kw): self.why['near-copy of a known entry']+=1; return False
        if any(jac(w,x)>=0.7 for x in self.ow): self.why['near-copy within pool']+=1; return False
        self.have.add(t.lower()); self.havenorm.add(norm(t)); self.ow.append(w)
        return True
