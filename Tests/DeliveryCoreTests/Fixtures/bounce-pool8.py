# Pool 8 (issue 12, round 5): replies labelled by two projects not used before, all held out (`heldout8`).
# Committed before the classifier was run on any of it and before the classifier's round-5 change.
#
# Source A: ZoneMTA's bounce rule table (github.com/zone-eu/zone-mta `config/bounces.txt`, format
# `regex,action,category,message`). Comment lines right above a rule quote real replies that the rule is
# written for ("# 550 5.7.1 ... blocked using zen.spamhaus.org"). Entry: each such comment line that starts
# with a reply code (after `#`, blanks and a quote), taken when the rule's regex (flags i, m, as ZoneMTA
# compiles it) matches it; the rule's `message` (with its category) is the label.
# Source B: @postalsys/bounce-classifier's unit tests (github.com/postalsys/bounce-classifier
# `test/test.js`): the `messages` arrays of the "should classify ..." tests with the label(s) the test
# accepts; taken when every accepted label maps to the same class.
#
# Labels (fixed table, written before the classifier was run on any pool 8 entry):
# A, by ZoneMTA's rule message (category in brackets where it decides):
#   "Sender IP blacklisted", "Sender IP blocked", "Sender IP temporary blocked", "Blacklisted by Spamhaus",
#   "Sender IP blacklisted by region", "Sender IP blocked for Spam", "Sender IP listed as spammer",
#   "Using dynamic IP range", "Sender is open relay", "From address is spammer",
#   "Policy error that appears to be blacklist", "Spam detected" [blacklist] -> reputation-block;
#   "Spam detected" [spam], "Spam message", "Message detected as spam", "Spammy URL in message",
#   "Virus found", "Message contains a virus", "Suspicious attachment", "Message contains suspicious
#   content" -> spam-content;
#   "Unknown user", "Recipient Unknown", "The email account does not exist", "Expired Email account",
#   "Disabled Email account", "Invalid mailbox" -> bad-mailbox; "Domain does not accept mail" -> bad-domain;
#   "Mailbox is full", "Mailbox Is Full", "Gmail Mailbox is full", "Hot.ee Mailbox is full", "Exceeded
#   storage allocation" -> mailbox-full; "Message Is Too Large", "Message Is Too Long" -> message-too-large;
#   "Rate limit exceeded", "Relay limit exceeded", "Too many connections" -> rate-limited;
#   "Message temporarily Greylisted" -> greylisted; "TLS required" -> tls-failure;
#   "Invalid reverse DNS", "Invalid PTR or missing DKIM", "Invalid DKIM signature", "Message failed DMARC
#   Evaluation", "Message rejected due to DMARC policy" -> auth-failure;
#   "Blocked by recipient", "Sender blocked by policy" -> policy;
#   "Network Connection Timed Out", "Message Expired Before Delivery Completed" -> timeout;
#   "Technical error", "Local error in processing" -> other.
#   Every other message names no single class here and is left out (e.g. "Message content blocked",
#   "Recipient overloaded", "Email Routing Issue Due To Network", "Unauthorized sender", the generic
#   "Mailbox unavailable", "Transaction failed", "Other permanent error").
# B, by the test's label: user_unknown, mailbox_disabled -> bad-mailbox; mailbox_full -> mailbox-full;
#   ip_blacklisted, domain_blacklisted -> reputation-block; relay_denied -> policy; greylisting ->
#   greylisted; rate_limited -> rate-limited; spam_blocked, virus_detected -> spam-content;
#   auth_failure -> auth-failure; policy_blocked -> policy; server_error -> other. Left out: invalid_address
#   (syntax, domain or mailbox), geo_blocked, unknown, and tests that accept labels of different classes.
# Hardness as in the corpus: 5xx hard, 4xx soft, mailbox-full soft. Entries carry their reply code and are
# compared on family and hardness like corpus entries (not text only).
# Dedupe (as bounce-pool4.py): exact or normalized copy of a corpus or pool 4-7 entry, word-set Jaccard >= 0.7
# with any of them or with an earlier pool 8 entry. Replies without an ASCII word are dropped.
# Usage: python3 bounce-pool8.py ZONE_MTA_GIT_DIR BOUNCE_CLASSIFIER_GIT_DIR > bounce-pool8.jsonl
import re,json,sys,collections,os
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
import bounce_pool_common as common
A={}
for m in ['Sender IP blacklisted','Sender IP blocked','Sender IP temporary blocked','Blacklisted by Spamhaus',
          'Sender IP blacklisted by region','Sender IP blocked for Spam','Sender IP listed as spammer',
          'Using dynamic IP range','Sender is open relay','From address is spammer',
          'Policy error that appears to be blacklist']: A[m]='reputation-block'
for m in ['Spam message','Message detected as spam','Spammy URL in message','Virus found','Message contains a virus',
          'Suspicious attachment','Message contains suspicious content']: A[m]='spam-content'
for m in ['Unknown user','Recipient Unknown','The email account does not exist','Expired Email account',
          'Disabled Email account','Invalid mailbox']: A[m]='bad-mailbox'
A['Domain does not accept mail']='bad-domain'
for m in ['Mailbox is full','Mailbox Is Full','Gmail Mailbox is full','Hot.ee Mailbox is full','Exceeded storage allocation']: A[m]='mailbox-full'
for m in ['Message Is Too Large','Message Is Too Long']: A[m]='message-too-large'
for m in ['Rate limit exceeded','Relay limit exceeded','Too many connections']: A[m]='rate-limited'
A['Message temporarily Greylisted']='greylisted'; A['TLS required']='tls-failure'
for m in ['Invalid reverse DNS','Invalid PTR or missing DKIM','Invalid DKIM signature','Message failed DMARC Evaluation',
          'Message rejected due to DMARC policy']: A[m]='auth-failure'
for m in ['Blocked by recipient','Sender blocked by policy']: A[m]='policy'
for m in ['Network Connection Timed Out','Message Expired Before Delivery Completed']: A[m]='timeout'
for m in ['Technical error','Local error in processing']: A[m]='other'
def label_a(category,message):
    if message=='Spam detected': return 'reputation-block' if category=='blacklist' else 'spam-content'
    return A.get(message)
B={'user_unknown':'bad-mailbox','mailbox_disabled':'bad-mailbox','mailbox_full':'mailbox-full','ip_blacklisted':'reputation-block',
   'domain_blacklisted':'reputation-block','relay_denied':'policy','greylisting':'greylisted','rate_limited':'rate-limited',
   'spam_blocked':'spam-content','virus_detected':'spam-content','auth_failure':'auth-failure','policy_blocked':'policy',
   'server_error':'other'}
ZREPO=sys.argv[1] if len(sys.argv)>1 else '/work/.mirror/zone-eu+zone-mta/repo'
BREPO=sys.argv[2] if len(sys.argv)>2 else '/work/.mirror/postalsys+bounce-classifier/repo'
ZPATH='config/bounces.txt'; BPATH='test/test.js'
ZC=common.git(ZREPO,'rev-parse','HEAD').strip(); BC=common.git(BREPO,'rev-parse','HEAD').strip()
here=os.path.dirname(os.path.abspath(__file__))
out=[];why=collections.Counter()
dedupe=common.Dedupe(common.known_replies(here,('bounce-corpus.jsonl','bounce-pool4.jsonl','bounce-pool5.jsonl','bounce-pool6.jsonl','bounce-pool7.jsonl')),why)
def add(t,cls,provider,source):
    if dedupe.keep(t):
        out.append({'reply':t,'expectedClass':cls,'hardness':common.hardness(t,cls),'provider':provider,'source':source,'split':'heldout8'})
# Source A
pending=[]
for n,line in enumerate(common.git(ZREPO,'show','HEAD:'+ZPATH).split('\n'),1):
    s=line.strip()
    if not s: continue
    if s.startswith('#'):
        c=s[1:].strip()
        if c.startswith('"'): c=c[1:]
        if c.endswith('"'): c=c[:-1]
        if re.match(r'[245]\d\d[ -]',c): pending.append((n,c))
        continue
    parts=s.split(',')
    regex,category,message=parts[0],parts[-2],parts[-1]
    samples,pending=pending,[]
    try: rx=re.compile(regex,re.I|re.M)
    except re.error: why['rule regex not readable in python']+=len(samples); continue
    for ln,c in samples:
        if not rx.search(c): why['sample not matched by its rule']+=1; continue
        cls=label_a(category,message)
        if cls is None: why['rule message with no single class']+=1; continue
        add(c,cls,'ZoneMTA bounce rule sample',f'https://github.com/zone-eu/zone-mta/blob/{ZC}/{ZPATH}#L{ln} (rule line {n}: {category}, "{message}")')
# Source B
src=common.git(BREPO,'show','HEAD:'+BPATH)
for m in re.finditer(r'it\("should classify (\w+) bounces", async \(\) => \{(.*?)\n    \}\);',src,re.S):
    body=m.group(2); line=src[:m.start()].count('\n')+1
    arr=re.search(r'const messages = \[(.*?)\];',body,re.S)
    if not arr: continue
    msgs=re.findall(r'"((?:[^"\\]|\\.)*)"',arr.group(1))
    strict=re.search(r'assert\.strictEqual\(\s*result\.label,\s*"(\w+)"',body)
    accepted=re.search(r'\[([^\]]*)\]\.includes\(\s*result\.label',body)
    labels=[strict.group(1)] if strict else re.findall(r'"(\w+)"',accepted.group(1)) if accepted else []
    classes={B.get(l) for l in labels}
    if not labels or None in classes or len(classes)!=1: why['test with no single class']+=len(msgs); continue
    cls=classes.pop()
    for t in msgs:
        t=json.loads('"'+t+'"')
        if not re.match(r'[245]\d\d[ -]',t): why['no reply code']+=1; continue
        add(t,cls,'@postalsys/bounce-classifier test',f'https://github.com/postalsys/bounce-classifier/blob/{BC}/{BPATH}#L{line} (test accepts {"/".join(labels)})')
print(dict(why),len(out),collections.Counter(e['expectedClass'] for e in out),file=sys.stderr)
for e in out: print(json.dumps(e,ensure_ascii=False))
