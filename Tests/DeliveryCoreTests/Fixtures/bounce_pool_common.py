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
