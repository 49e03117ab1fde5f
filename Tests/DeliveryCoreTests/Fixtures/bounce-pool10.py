# Pool 10 (issue 12, round 7): a fresh held-out pool (`heldout10`) from a source not used before: Postfix's own
# reply texts. Written and committed before the classifier was run on any of it.
#
# Source: the Postfix source code (github.com/vdukhovni/postfix, the snapshot's HEAD, commit in each entry's
# `source`): the reply texts that smtpd(8) and postscreen(8) send when a restriction, limit or protocol check
# refuses a client, each with the reply code and enhanced status code the code gives it (a configurable reply code
# takes its documented default). Each entry below names the file, a literal anchor that must occur in that file
# (the script checks it, so the entry follows the snapshot), the restriction or parameter that emits the reply,
# and the reply with its placeholders filled with documentation values (client mail.example.com[192.0.2.1],
# HELO name, addresses at example.com/example.net, block list zen.spamhaus.org).
#
# Labels: a FIXED table from the restriction or parameter to a class, written from what postconf(5) says it does
# and the class definitions of Fixtures/README.md, before any classifier was run on any entry:
#   reject_unknown_reverse_client_hostname, reject_unknown_client_hostname (no PTR / no forward-confirmed name)
#     -> auth-failure (issue 12 lists PTR under sender authentication);
#   reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname, reject_unknown_helo_hostname (the HELO argument),
#   reject_unknown_sender_domain, reject_non_fqdn_sender, reject_unverified_sender, reject_sender_login_mismatch,
#   reject_unauth_destination (relaying), check_*_access REJECT (a local access table) -> policy;
#   reject_unknown_recipient_domain, a recipient domain with a null MX -> bad-domain;
#   local_recipient_maps, virtual_mailbox_maps, relay_recipient_maps (reject_unlisted_recipient),
#   reject_unverified_recipient -> bad-mailbox;
#   reject_rbl_client, reject_rhsbl_sender/_client, postscreen_dnsbl_sites -> reputation-block;
#   message_size_limit, the file system size limit -> message-too-large;
#   smtpd_client_connection_count_limit, smtpd_client_connection_rate_limit, smtpd_client_message_rate_limit,
#   smtpd_client_recipient_rate_limit, smtpd_client_auth_rate_limit, postscreen_client_connection_count_limit
#     -> rate-limited;
#   smtpd_tls_security_level=encrypt (STARTTLS required first) -> tls-failure;
#   queue_minfree (server storage), smtpd_hard_error_limit, reject_unauth_pipelining and other SMTP protocol and
#   syntax checks, postscreen's pregreet/bare-newline "Protocol error" -> other.
# Left out (no single class here): reject_non_fqdn_recipient, reject_multi_recipient_bounce, smtpd_recipient_limit
# ("too many recipients" per message), the generic "Service unavailable" fallbacks, postscreen's resource replies.
# Hardness as in the corpus (5xx hard, 4xx soft). Dedupe (as bounce-pool9.py): replies without an ASCII word, exact
# or normalized copies of a corpus or pool 4-9 entry, word-set Jaccard >= 0.7 with any of them or with an earlier
# pool 10 entry are dropped (printed to stderr).
# Usage: python3 bounce-pool10.py POSTFIX_GIT_DIR > bounce-pool10.jsonl
import json,sys,collections,os
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
import bounce_pool_common as common
LABEL={'reject_unknown_reverse_client_hostname':'auth-failure','reject_unknown_client_hostname':'auth-failure',
       'reject_invalid_helo_hostname':'policy','reject_non_fqdn_helo_hostname':'policy','reject_unknown_helo_hostname':'policy',
       'reject_unknown_sender_domain':'policy','reject_non_fqdn_sender':'policy','reject_unverified_sender':'policy',
       'reject_sender_login_mismatch':'policy','reject_unauth_destination':'policy','check_access_reject':'policy',
       'reject_unknown_recipient_domain':'bad-domain','recipient_nullmx':'bad-domain',
       'local_recipient_maps':'bad-mailbox','virtual_mailbox_maps':'bad-mailbox','relay_recipient_maps':'bad-mailbox',
       'reject_unverified_recipient':'bad-mailbox',
       'reject_rbl_client':'reputation-block','reject_rhsbl_sender':'reputation-block','postscreen_dnsbl_sites':'reputation-block',
       'message_size_limit':'message-too-large','file_size_limit':'message-too-large',
       'smtpd_client_connection_count_limit':'rate-limited','smtpd_client_connection_rate_limit':'rate-limited',
       'smtpd_client_message_rate_limit':'rate-limited','smtpd_client_recipient_rate_limit':'rate-limited',
       'smtpd_client_auth_rate_limit':'rate-limited','postscreen_client_connection_count_limit':'rate-limited',
       'smtpd_tls_security_level':'tls-failure',
       'queue_minfree':'other','smtpd_hard_error_limit':'other','reject_unauth_pipelining':'other','smtp_protocol':'other',
       'postscreen_protocol':'other'}
S='postfix/src/smtpd/smtpd_check.c'; D='postfix/src/smtpd/smtpd.c'; P='postfix/src/postscreen/postscreen.c'
PE='postfix/src/postscreen/postscreen_early.c'; PS='postfix/src/postscreen/postscreen_smtpd.c'; M='postfix/src/global/mail_params.h'
# (file, anchor, restriction, reply)
ENTRIES=[
 (S,'Client host rejected: cannot find your reverse hostname, [%s]','reject_unknown_reverse_client_hostname','450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]'),
 (S,'Client host rejected: cannot find your hostname, [%s]','reject_unknown_client_hostname','450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]'),
 (S,'<%s>: %s rejected: invalid ip address','reject_invalid_helo_hostname','501 5.5.2 <[192.0.2.300]>: Helo command rejected: invalid ip address'),
 (S,'<%s>: %s rejected: Invalid name','reject_invalid_helo_hostname','501 5.5.2 <mail_server>: Helo command rejected: Invalid name'),
 (S,'<%s>: %s rejected: need fully-qualified hostname','reject_non_fqdn_helo_hostname','504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname'),
 (S,'<%s>: %s rejected: Host not found','reject_unknown_helo_hostname','450 4.7.1 <mail.example.invalid>: Helo command rejected: Host not found'),
 (S,'<%s>: %s rejected: Domain not found','reject_unknown_sender_domain','450 4.1.8 <sender@example.invalid>: Sender address rejected: Domain not found'),
 (S,'<%s>: %s rejected: Domain not found','reject_unknown_recipient_domain','450 4.1.2 <user@example.invalid>: Recipient address rejected: Domain not found'),
 (S,'does not accept mail (nullMX)','recipient_nullmx','556 4.1.10 <user@example.net>: Recipient address rejected: Domain example.net does not accept mail (nullMX)'),
 (S,'<%s>: %s rejected: need fully-qualified address','reject_non_fqdn_sender','504 4.5.2 <sender>: Sender address rejected: need fully-qualified address'),
 (S,'<%s>: %s rejected: unverified address: %.250s','reject_unverified_sender','450 4.1.7 <sender@example.com>: Sender address rejected: unverified address: host mx.example.com[192.0.2.2] said: 550 5.1.1 <sender@example.com>: Recipient address rejected: User unknown'),
 (S,'<%s>: %s rejected: undeliverable address: %s','reject_unverified_recipient','550 5.1.1 <user@example.net>: Recipient address rejected: undeliverable address: unknown user: "user"'),
 (S,'<%s>: %s rejected: unverified address: %.250s','reject_unverified_recipient','450 4.1.1 <user@example.net>: Recipient address rejected: unverified address: host mx.example.net[192.0.2.3] said: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown in virtual mailbox table'),
 (S,'<%s>: Sender address rejected: not owned by user %s','reject_sender_login_mismatch','553 5.7.1 <boss@example.com>: Sender address rejected: not owned by user alice'),
 (S,'<%s>: Sender address rejected: not logged in','reject_sender_login_mismatch','553 5.7.1 <alice@example.com>: Sender address rejected: not logged in'),
 (S,'<%s>: Relay access denied','reject_unauth_destination','554 5.7.1 <user@example.net>: Relay access denied'),
 (S,'<%s>: %s rejected: Access denied','check_access_reject','554 5.7.1 <mail.example.com[192.0.2.1]>: Client host rejected: Access denied'),
 (S,'<%s>: %s rejected: Access denied','check_access_reject','554 5.7.1 <sender@example.com>: Sender address rejected: Access denied'),
 (S,' in local recipient table','local_recipient_maps','550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table'),
 (S,' in virtual mailbox table','virtual_mailbox_maps','550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table'),
 (S,' in relay recipient table','relay_recipient_maps','550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in relay recipient table'),
 (M,'$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain','reject_rbl_client','554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org'),
 (M,'$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain','reject_rhsbl_sender','554 5.7.1 Service unavailable; Sender address [sender@example.com] blocked using dbl.spamhaus.org'),
 (PE,'Service unavailable; client [%s] blocked using %s','postscreen_dnsbl_sites','550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org'),
 (S,'Message size exceeds fixed limit','message_size_limit','552 5.3.4 Message size exceeds fixed limit'),
 (D,'552 5.3.4 Message size exceeds file system imposed limit','file_size_limit','552 5.3.4 Message size exceeds file system imposed limit'),
 (D,'421 4.7.0 %s Error: too many connections from %s','smtpd_client_connection_count_limit','421 4.7.0 mail.example.net Error: too many connections from 192.0.2.1'),
 (D,'450 4.7.1 Error: too much mail from %s','smtpd_client_message_rate_limit','450 4.7.1 Error: too much mail from 192.0.2.1'),
 (D,'450 4.7.1 Error: too many recipients from %s','smtpd_client_recipient_rate_limit','450 4.7.1 Error: too many recipients from 192.0.2.1'),
 (D,'450 4.7.1 Error: too many AUTH commands from %s','smtpd_client_auth_rate_limit','450 4.7.1 Error: too many AUTH commands from 192.0.2.1'),
 (P,'421 4.7.0 Error: too many connections','postscreen_client_connection_count_limit','421 4.7.0 Error: too many connections'),
 (PS,'530 5.7.0 Must issue a STARTTLS command first','smtpd_tls_security_level','530 5.7.0 Must issue a STARTTLS command first'),
 (S,'Insufficient system storage','queue_minfree','452 4.3.1 Insufficient system storage'),
 (D,'421 4.7.0 %s Error: too many errors','smtpd_hard_error_limit','421 4.7.0 mail.example.net Error: too many errors'),
 (S,'<%s>: %s rejected: Improper use of SMTP command pipelining','reject_unauth_pipelining','503 5.5.0 <mail.example.com>: Client host rejected: Improper use of SMTP command pipelining'),
 (D,'503 5.5.1 Error: send HELO/EHLO first','smtp_protocol','503 5.5.1 Error: send HELO/EHLO first'),
 (D,'503 5.5.1 Error: nested MAIL command','smtp_protocol','503 5.5.1 Error: nested MAIL command'),
 (D,'501 5.1.7 Bad sender address syntax','smtp_protocol','501 5.1.7 Bad sender address syntax'),
 (D,'501 5.1.3 Bad recipient address syntax','smtp_protocol','501 5.1.3 Bad recipient address syntax'),
 (D,'554 5.5.1 Error: no valid recipients','smtp_protocol','554 5.5.1 Error: no valid recipients'),
 (D,'503 5.5.1 Error: need RCPT command','smtp_protocol','503 5.5.1 Error: need RCPT command'),
 (D,'501 5.5.4 Bad message size syntax','smtp_protocol','501 5.5.4 Bad message size syntax'),
 (D,'555 5.5.4 Unsupported option: %s','smtp_protocol','555 5.5.4 Unsupported option: FOO=BAR'),
 (D,'501 5.7.1 DSN support is disabled','smtp_protocol','501 5.7.1 DSN support is disabled'),
 (D,'553 5.6.7 Must declare SMTPUTF8 to ','smtp_protocol','553 5.6.7 Must declare SMTPUTF8 to send unicode address'),
 (PS,'502 5.5.2 Error: command not recognized','smtp_protocol','502 5.5.2 Error: command not recognized'),
 (PE,'550 5.5.1 Protocol error','postscreen_protocol','550 5.5.1 Protocol error'),
 (PS,'521 5.7.0 Error: I can break rules, too. Goodbye.','postscreen_protocol','521 5.7.0 Error: I can break rules, too. Goodbye.'),
]
REPO=sys.argv[1] if len(sys.argv)>1 else '/work/.mirror/vdukhovni+postfix/repo'
here=os.path.dirname(os.path.abspath(__file__))
rev=common.git(REPO,'rev-parse','HEAD').strip()
texts={}
why=collections.Counter(); out=[]
dedupe=common.Dedupe(common.known_replies(here,('bounce-corpus.jsonl','bounce-pool4.jsonl','bounce-pool5.jsonl','bounce-pool6.jsonl','bounce-pool7.jsonl','bounce-pool8.jsonl','bounce-pool9.jsonl')),why)
for path,anchor,restriction,reply in ENTRIES:
    if path not in texts: texts[path]=common.git(REPO,'show',f'{rev}:{path}')
    assert anchor in texts[path], (path,anchor)
    cls=LABEL[restriction]
    if dedupe.keep(reply):
        out.append({'reply':reply,'expectedClass':cls,'hardness':common.hardness(reply,cls),'provider':'Postfix',
                    'source':f'https://github.com/vdukhovni/postfix/blob/{rev}/{path} ({restriction})','split':'heldout10'})
for e in out: print(json.dumps(e,ensure_ascii=False))
print(f'pool 10: {len(out)} kept of {len(ENTRIES)}; dropped: {dict(why)}; classes: {dict(collections.Counter(e["expectedClass"] for e in out))}',file=sys.stderr)
