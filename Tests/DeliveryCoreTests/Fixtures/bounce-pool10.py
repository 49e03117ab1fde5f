# Pool 10 (issue 12, round 7): a fresh held-out pool (`heldout10`) from sources not used before: the reply texts of
# open-source mail servers, Postfix, Exim, sendmail, Haraka, OpenSMTPD and Dovecot's LMTP. Written and committed
# (the Postfix part first, then the others in a second commit) before the classifier was run on any of it.
#
# Source A: the Postfix source code (github.com/vdukhovni/postfix, the snapshot's HEAD, commit in each entry's
# `source`): the reply texts that smtpd(8) and postscreen(8) send when a restriction, limit or protocol check
# refuses a client, each with the reply code and enhanced status code the code gives it (a configurable reply code
# takes its documented default). Each entry below names the file, a literal anchor that must occur in that file
# (the script checks it, so the entry follows the snapshot), the restriction or parameter that emits the reply,
# and the reply with its placeholders filled with documentation values (client mail.example.com[192.0.2.1],
# HELO name, addresses at example.com/example.net, block list zen.spamhaus.org).
#
# Source B: the Exim source code (github.com/Exim/exim, the snapshot's HEAD): the replies smtp_in.c and receive.c
# send for connection, size, spool and protocol limits, and the refusals of the ACLs and routers of Exim's default
# configuration (src/src/configure.default, including its commented dnslists and malware examples), with Exim's
# default reply code for an ACL "deny"/"require" (550; no enhanced code).
# Source D: sendmail 8 (github.com/hrs-allbsd/sendmail, a mirror of the sendmail distribution, the snapshot's HEAD):
# the replies of the cf/m4/proto.m4 rulesets (with their enhanced codes and the default confRELAY_MSG,
# confRCPTREJ_MSG, confREJECT_MSG and TLS_ERRCODE/TLS_DSNCODE 454/4.7.0) and of sendmail/srvrsmtp.c, daemon.c,
# collect.c and deliver.c.
# Source E: Dovecot's LMTP server (github.com/dovecot/core, the snapshot's HEAD; src/lmtp, the quota plugin's default
# quota_exceeded_message and lib-storage's MAIL_ERRSTR_NO_QUOTA): the replies a Dovecot mail store gives an MTA that
# delivers to it (quoted in the MTA's bounces), with the recipient in angle brackets as smtp_server_recipient_reply
# sends it. Source F: OpenSMTPD (github.com/OpenSMTPD/OpenSMTPD, the snapshot's HEAD; usr.sbin/smtpd/smtp_session.c
# and lka_session.c), enhanced code and its esc.c description filled in as esc_code()/esc_description() give them.
# Source C: Haraka (github.com/haraka/Haraka core and the haraka/haraka-plugin-* repositories, each snapshot's
# HEAD): the texts the plugins pass with DENY/DENYSOFT, with the reply code Haraka's connection.js gives that hook
# (lookup_rdns 554/421; helo, mail, rcpt, data_post 550/450; connect DENYSOFT(DISCONNECT) 421) or the code of the
# plugin's DSN object, placeholders filled as for Postfix; plugin defaults from its config file.
#
# Labels: a FIXED table from the restriction, parameter, ACL rule or plugin check to a class, written from what postconf(5) says it does
# and the class definitions of Fixtures/README.md (BounceClass's documented meanings), before any classifier was run on
# any entry (two rows were corrected to those definitions before any run: sendmail's "does not resolve" is dns-failure,
# Haraka's "Authentication required" auth-failure):
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
#   Exim: smtp_accept_max, smtp_accept_max_per_connection -> rate-limited; message_size_limit -> message-too-large;
#   ACL "Restricted characters in address", "relay not permitted", verify = sender, line length and header syntax
#   checks, an unqualified sender -> policy; the localuser router's cannot_route_message ("Unknown user") -> bad-mailbox;
#   dnslists -> reputation-block; malware -> spam-content; smtp_load_reserve (load), check_spool_space, the
#   Received-header loop limit, SMTP synchronization errors -> other.
#   sendmail: FEATURE(dnsbl) -> reputation-block; FEATURE(require_rdns) -> auth-failure; the check_mail sender domain
#   checks (does not exist / domain name required) and BadMX -> policy, a sender domain that does not resolve (451,
#   temporary) -> dns-failure; relaying denied (with or
#   without the forged/failed client name), the access map's REJECT, authinfo "not allowed to act as" -> policy; the
#   recipient access REJECT (confRCPTREJ_MSG "Mailbox disabled for this recipient") -> bad-mailbox; the STARTTLS,
#   DANE, SAN and MTA-STS checks -> tls-failure; MaxMessageSize -> message-too-large; the per-host session limit ->
#   rate-limited; address syntax rules (parse0), disk space, too many bad commands, too many hops -> other.
#   Dovecot LMTP: a recipient whose user lookup fails ("User doesn't exist") -> bad-mailbox; the quota checks
#   (quota_exceeded_message, "Not enough disk quota") -> mailbox-full.
#   OpenSMTPD: an empty expansion / failed recipient lookup ("Invalid recipient") -> bad-mailbox; the size limit ->
#   message-too-large; max-messages per session -> rate-limited; RFC 2822 compliance -> policy; STARTTLS required ->
#   tls-failure; the loop check -> other.
#   Haraka: fcrdns (no rDNS / no forward-confirmed rDNS) -> auth-failure; helo.checks -> policy; spf -> auth-failure;
#   dns-list (connect and backscatterer) -> reputation-block; greylist -> greylisted; limit (connection and recipient
#   rates, concurrency) -> rate-limited; qmail-deliverable "not deliverable" -> bad-mailbox, "not local" and
#   "mailing lists do not accept null senders" -> policy; host_list anti_spoof, the core's "I cannot deliver mail for"
#   (no plugin accepted the recipient domain) -> policy; the core's "Authentication required" (SMTP AUTH) -> auth-failure; clamd, spamassassin, rspamd
#   rejects, data.signatures, headers' from_phish -> spam-content; headers' RFC 5322 checks -> policy; the core's
#   max size -> message-too-large; toobusy, a plugin's own scanner or backend error -> other; the core's protocol
#   replies -> other.
# Left out (no single class here): reject_non_fqdn_recipient, reject_multi_recipient_bounce, smtpd_recipient_limit
# ("too many recipients" per message), the generic "Service unavailable" fallbacks, postscreen's resource replies; Exim's "too many bad recipients" rule
# and deferred sender verification; Haraka's DNS/resolver timeouts, uribl (envelope or content domains), karma and
# early_talker (reply code depends on the hook), rspamd's soft reject.
# Hardness as in the corpus (5xx hard, 4xx soft). Dedupe (as bounce-pool9.py): replies without an ASCII word, exact
# or normalized copies of a corpus or pool 4-9 entry, word-set Jaccard >= 0.7 with any of them or with an earlier
# pool 10 entry are dropped (printed to stderr).
# Usage: python3 bounce-pool10.py [MIRROR_DIR] > bounce-pool10.jsonl (MIRROR_DIR holds <owner>+<name>/repo git
# directories: vdukhovni+postfix, Exim+exim, hrs-allbsd+sendmail, dovecot+core, OpenSMTPD+OpenSMTPD, haraka+Haraka and haraka+haraka-plugin-*; default /work/.mirror)
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
       'postscreen_protocol':'other',
       # Exim
       'exim:smtp_accept_max':'rate-limited','exim:smtp_accept_max_per_connection':'rate-limited',
       'exim:message_size_limit':'message-too-large','exim:acl_restricted_characters':'policy','exim:acl_relay':'policy',
       'exim:verify_sender':'policy','exim:acl_line_length':'policy','exim:acl_header_syntax':'policy',
       'exim:unqualified_sender':'policy','exim:localuser_router':'bad-mailbox','exim:acl_dnslists':'reputation-block',
       'exim:acl_malware':'spam-content','exim:smtp_load_reserve':'other','exim:check_spool_space':'other',
       'exim:received_headers_max':'other','exim:smtp_synchronization':'other',
       # sendmail
       'sendmail:dnsbl':'reputation-block','sendmail:require_rdns':'auth-failure','sendmail:check_mail':'policy','sendmail:check_mail_temp':'dns-failure',
       'sendmail:badmx':'policy','sendmail:relay':'policy','sendmail:access_reject':'policy','sendmail:authinfo':'policy',
       'sendmail:rcpt_reject':'bad-mailbox','sendmail:tls':'tls-failure','sendmail:max_message_size':'message-too-large',
       'sendmail:max_sessions_per_host':'rate-limited','sendmail:parse0':'other','sendmail:disk_space':'other',
       'sendmail:bad_commands':'other','sendmail:max_hops':'other',
       # Dovecot, OpenSMTPD
       'dovecot:user_lookup':'bad-mailbox','dovecot:quota':'mailbox-full',
       'opensmtpd:expand':'bad-mailbox','opensmtpd:max_message_size':'message-too-large','opensmtpd:max_messages':'rate-limited',
       'opensmtpd:rfc2822':'policy','opensmtpd:starttls_required':'tls-failure','opensmtpd:loop':'other',
       # Haraka
       'haraka:fcrdns':'auth-failure','haraka:helo.checks':'policy','haraka:spf':'auth-failure',
       'haraka:dns-list':'reputation-block','haraka:greylist':'greylisted','haraka:limit':'rate-limited',
       'haraka:qmail-deliverable:not_deliverable':'bad-mailbox','haraka:qmail-deliverable:not_local':'policy',
       'haraka:qmail-deliverable:null_sender':'policy','haraka:anti_spoof':'policy','haraka:core_rcpt':'policy',
       'haraka:core_auth':'auth-failure','haraka:clamd':'spam-content','haraka:spamassassin':'spam-content',
       'haraka:rspamd':'spam-content','haraka:data.signatures':'spam-content','haraka:headers:from_phish':'spam-content',
       'haraka:headers':'policy','haraka:core_size':'message-too-large','haraka:toobusy':'other',
       'haraka:backend_error':'other','haraka:core_protocol':'other'}
S='postfix/src/smtpd/smtpd_check.c'; D='postfix/src/smtpd/smtpd.c'; P='postfix/src/postscreen/postscreen.c'
PE='postfix/src/postscreen/postscreen_early.c'; PS='postfix/src/postscreen/postscreen_smtpd.c'; M='postfix/src/global/mail_params.h'
# (file, anchor, restriction, reply)
ENTRIES=[
 ('postfix',S,'Client host rejected: cannot find your reverse hostname, [%s]','reject_unknown_reverse_client_hostname','450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]'),
 ('postfix',S,'Client host rejected: cannot find your hostname, [%s]','reject_unknown_client_hostname','450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]'),
 ('postfix',S,'<%s>: %s rejected: invalid ip address','reject_invalid_helo_hostname','501 5.5.2 <[192.0.2.300]>: Helo command rejected: invalid ip address'),
 ('postfix',S,'<%s>: %s rejected: Invalid name','reject_invalid_helo_hostname','501 5.5.2 <mail_server>: Helo command rejected: Invalid name'),
 ('postfix',S,'<%s>: %s rejected: need fully-qualified hostname','reject_non_fqdn_helo_hostname','504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname'),
 ('postfix',S,'<%s>: %s rejected: Host not found','reject_unknown_helo_hostname','450 4.7.1 <mail.example.invalid>: Helo command rejected: Host not found'),
 ('postfix',S,'<%s>: %s rejected: Domain not found','reject_unknown_sender_domain','450 4.1.8 <sender@example.invalid>: Sender address rejected: Domain not found'),
 ('postfix',S,'<%s>: %s rejected: Domain not found','reject_unknown_recipient_domain','450 4.1.2 <user@example.invalid>: Recipient address rejected: Domain not found'),
 ('postfix',S,'does not accept mail (nullMX)','recipient_nullmx','556 4.1.10 <user@example.net>: Recipient address rejected: Domain example.net does not accept mail (nullMX)'),
 ('postfix',S,'<%s>: %s rejected: need fully-qualified address','reject_non_fqdn_sender','504 4.5.2 <sender>: Sender address rejected: need fully-qualified address'),
 ('postfix',S,'<%s>: %s rejected: unverified address: %.250s','reject_unverified_sender','450 4.1.7 <sender@example.com>: Sender address rejected: unverified address: host mx.example.com[192.0.2.2] said: 550 5.1.1 <sender@example.com>: Recipient address rejected: User unknown'),
 ('postfix',S,'<%s>: %s rejected: undeliverable address: %s','reject_unverified_recipient','550 5.1.1 <user@example.net>: Recipient address rejected: undeliverable address: unknown user: "user"'),
 ('postfix',S,'<%s>: %s rejected: unverified address: %.250s','reject_unverified_recipient','450 4.1.1 <user@example.net>: Recipient address rejected: unverified address: host mx.example.net[192.0.2.3] said: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown in virtual mailbox table'),
 ('postfix',S,'<%s>: Sender address rejected: not owned by user %s','reject_sender_login_mismatch','553 5.7.1 <boss@example.com>: Sender address rejected: not owned by user alice'),
 ('postfix',S,'<%s>: Sender address rejected: not logged in','reject_sender_login_mismatch','553 5.7.1 <alice@example.com>: Sender address rejected: not logged in'),
 ('postfix',S,'<%s>: Relay access denied','reject_unauth_destination','554 5.7.1 <user@example.net>: Relay access denied'),
 ('postfix',S,'<%s>: %s rejected: Access denied','check_access_reject','554 5.7.1 <mail.example.com[192.0.2.1]>: Client host rejected: Access denied'),
 ('postfix',S,'<%s>: %s rejected: Access denied','check_access_reject','554 5.7.1 <sender@example.com>: Sender address rejected: Access denied'),
 ('postfix',S,' in local recipient table','local_recipient_maps','550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table'),
 ('postfix',S,' in virtual mailbox table','virtual_mailbox_maps','550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table'),
 ('postfix',S,' in relay recipient table','relay_recipient_maps','550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in relay recipient table'),
 ('postfix',M,'$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain','reject_rbl_client','554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org'),
 ('postfix',M,'$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain','reject_rhsbl_sender','554 5.7.1 Service unavailable; Sender address [sender@example.com] blocked using dbl.spamhaus.org'),
 ('postfix',PE,'Service unavailable; client [%s] blocked using %s','postscreen_dnsbl_sites','550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org'),
 ('postfix',S,'Message size exceeds fixed limit','message_size_limit','552 5.3.4 Message size exceeds fixed limit'),
 ('postfix',D,'552 5.3.4 Message size exceeds file system imposed limit','file_size_limit','552 5.3.4 Message size exceeds file system imposed limit'),
 ('postfix',D,'421 4.7.0 %s Error: too many connections from %s','smtpd_client_connection_count_limit','421 4.7.0 mail.example.net Error: too many connections from 192.0.2.1'),
 ('postfix',D,'450 4.7.1 Error: too much mail from %s','smtpd_client_message_rate_limit','450 4.7.1 Error: too much mail from 192.0.2.1'),
 ('postfix',D,'450 4.7.1 Error: too many recipients from %s','smtpd_client_recipient_rate_limit','450 4.7.1 Error: too many recipients from 192.0.2.1'),
 ('postfix',D,'450 4.7.1 Error: too many AUTH commands from %s','smtpd_client_auth_rate_limit','450 4.7.1 Error: too many AUTH commands from 192.0.2.1'),
 ('postfix',P,'421 4.7.0 Error: too many connections','postscreen_client_connection_count_limit','421 4.7.0 Error: too many connections'),
 ('postfix',PS,'530 5.7.0 Must issue a STARTTLS command first','smtpd_tls_security_level','530 5.7.0 Must issue a STARTTLS command first'),
 ('postfix',S,'Insufficient system storage','queue_minfree','452 4.3.1 Insufficient system storage'),
 ('postfix',D,'421 4.7.0 %s Error: too many errors','smtpd_hard_error_limit','421 4.7.0 mail.example.net Error: too many errors'),
 ('postfix',S,'<%s>: %s rejected: Improper use of SMTP command pipelining','reject_unauth_pipelining','503 5.5.0 <mail.example.com>: Client host rejected: Improper use of SMTP command pipelining'),
 ('postfix',D,'503 5.5.1 Error: send HELO/EHLO first','smtp_protocol','503 5.5.1 Error: send HELO/EHLO first'),
 ('postfix',D,'503 5.5.1 Error: nested MAIL command','smtp_protocol','503 5.5.1 Error: nested MAIL command'),
 ('postfix',D,'501 5.1.7 Bad sender address syntax','smtp_protocol','501 5.1.7 Bad sender address syntax'),
 ('postfix',D,'501 5.1.3 Bad recipient address syntax','smtp_protocol','501 5.1.3 Bad recipient address syntax'),
 ('postfix',D,'554 5.5.1 Error: no valid recipients','smtp_protocol','554 5.5.1 Error: no valid recipients'),
 ('postfix',D,'503 5.5.1 Error: need RCPT command','smtp_protocol','503 5.5.1 Error: need RCPT command'),
 ('postfix',D,'501 5.5.4 Bad message size syntax','smtp_protocol','501 5.5.4 Bad message size syntax'),
 ('postfix',D,'555 5.5.4 Unsupported option: %s','smtp_protocol','555 5.5.4 Unsupported option: FOO=BAR'),
 ('postfix',D,'501 5.7.1 DSN support is disabled','smtp_protocol','501 5.7.1 DSN support is disabled'),
 ('postfix',D,'553 5.6.7 Must declare SMTPUTF8 to ','smtp_protocol','553 5.6.7 Must declare SMTPUTF8 to send unicode address'),
 ('postfix',PS,'502 5.5.2 Error: command not recognized','smtp_protocol','502 5.5.2 Error: command not recognized'),
 ('postfix',PE,'550 5.5.1 Protocol error','postscreen_protocol','550 5.5.1 Protocol error'),
 ('postfix',PS,'521 5.7.0 Error: I can break rules, too. Goodbye.','postscreen_protocol','521 5.7.0 Error: I can break rules, too. Goodbye.'),

 # Exim
 ('exim','src/src/smtp_in.c','"421 %s: Too many concurrent SMTP connections; "','exim:smtp_accept_max','421 mail.example.net: Too many concurrent SMTP connections; please try again later'),
 ('exim','src/src/smtp_in.c','"421 %s: Too much load; please try again later','exim:smtp_load_reserve','421 mail.example.net: Too much load; please try again later'),
 ('exim','src/src/smtp_in.c','"554 SMTP synchronization error','exim:smtp_synchronization','554 SMTP synchronization error'),
 ('exim','src/src/smtp_in.c','"421 too many messages in this connection','exim:smtp_accept_max_per_connection','421 too many messages in this connection'),
 ('exim','src/src/smtp_in.c','"552 Message size exceeds maximum permitted','exim:message_size_limit','552 Message size exceeds maximum permitted'),
 ('exim','src/src/smtp_in.c','"452 Space shortage, please try later','exim:check_spool_space','452 Space shortage, please try later'),
 ('exim','src/src/smtp_in.c','"501 %s: sender address must contain a domain','exim:unqualified_sender','501 sender: sender address must contain a domain'),
 ('exim','src/src/receive.c','"550 Too many \\"Received\\" headers - suspected mail loop"','exim:received_headers_max','550 Too many "Received" headers - suspected mail loop'),
 ('exim','src/src/acl.c','US"Sender verify failed"','exim:verify_sender','550 Sender verify failed'),
 ('exim','src/src/configure.default','message       = Restricted characters in address','exim:acl_restricted_characters','550 Restricted characters in address'),
 ('exim','src/src/configure.default','require message = relay not permitted','exim:acl_relay','550 relay not permitted'),
 ('exim','src/src/configure.default','cannot_route_message = Unknown user','exim:localuser_router','550 Unknown user'),
 ('exim','src/src/configure.default','message       = rejected because $sender_host_address is in a black list at $dnslist_domain','exim:acl_dnslists','550 rejected because 192.0.2.1 is in a black list at black.list.example'),
 ('exim','src/src/configure.default','message    = maximum allowed line length is 998 octets','exim:acl_line_length','550 maximum allowed line length is 998 octets, got 1200'),
 ('exim','src/src/configure.default','message =     header syntax','exim:acl_header_syntax','550 header syntax'),
 ('exim','src/src/configure.default','message    = This message contains a virus ($malware_name).','exim:acl_malware','550 This message contains a virus (Eicar-Test-Signature).'),
 # sendmail
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.7.1 $: "550 Rejected: " $&{client_addr} " listed at _RBL_"','sendmail:dnsbl','550 5.7.1 Rejected: 192.0.2.1 listed at zen.spamhaus.org'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.7.1 $: 550 Fix reverse DNS for $1','sendmail:require_rdns','550 5.7.1 Fix reverse DNS for 192.0.2.1'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 4.1.8 $: 451 Client IP address $1 does not resolve','sendmail:require_rdns','451 4.1.8 Client IP address 192.0.2.1 does not resolve'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 4.1.8 $: 451 Possibly forged hostname for $1','sendmail:require_rdns','451 4.1.8 Possibly forged hostname for 192.0.2.1'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 4.1.8 $: "451 Domain of sender address " $&f " does not resolve"','sendmail:check_mail_temp','451 4.1.8 Domain of sender address user@example.invalid does not resolve'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.1.8 $: "_CODE553 Domain of sender address " $&f " does not exist"','sendmail:check_mail','553 5.1.8 Domain of sender address user@example.invalid does not exist'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.5.4 $: "_CODE553 Real domain name required for sender address"','sendmail:check_mail','553 5.5.4 Real domain name required for sender address'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.5.4 $: "_CODE553 Domain name required for sender address " $&f','sendmail:check_mail','553 5.5.4 Domain name required for sender address user'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.1.2 $:"550 Illegal MX record for host "$1','sendmail:badmx','550 5.1.2 Illegal MX record for host example.net'),
 ('sendmail','cf/m4/proto.m4','`"550 Relaying denied. Proper authentication required."\'','sendmail:relay','550 5.7.1 Relaying denied. Proper authentication required.'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.7.1 $: "550 Relaying denied. IP name possibly forged " $&{client_name}','sendmail:relay','550 5.7.1 Relaying denied. IP name possibly forged mail.example.com'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.7.1 $: "550 Relaying denied. IP name lookup failed " $&{client_name}','sendmail:relay','550 5.7.1 Relaying denied. IP name lookup failed mail.example.com'),
 ('sendmail','cf/m4/proto.m4','`$@ 5.7.1 $: "550 Access denied"\'','sendmail:access_reject','550 5.7.1 Access denied'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.7.1 $: "550 " $&{auth_authen} " not allowed to act as " $&{auth_author}','sendmail:authinfo','550 5.7.1 alice not allowed to act as bob@example.com'),
 ('sendmail','cf/m4/proto.m4','`"550 Mailbox disabled for this recipient"\'','sendmail:rcpt_reject','550 5.2.1 Mailbox disabled for this recipient'),
 ('sendmail','cf/m4/proto.m4',"define(`SW_MSG', `TLS handshake failed.')",'sendmail:tls','454 4.7.0 TLS handshake failed.'),
 ('sendmail','cf/m4/proto.m4',"define(`PROT_MSG', `STARTTLS failed.')",'sendmail:tls','454 4.7.0 STARTTLS failed.'),
 ('sendmail','cf/m4/proto.m4',"define(`DANE_MSG', `DANE check failed.')",'sendmail:tls','454 4.7.0 DANE check failed.'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 4.7.0 $: 450 $&{server_name} not listed in SANs','sendmail:tls','450 4.7.0 mx.example.net not listed in SANs'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 4.7.0 $: 450 STS lookup temp fail','sendmail:tls','450 4.7.0 STS lookup temp fail'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.1.3 $: "_CODE553 User address required"','sendmail:parse0','553 5.1.3 User address required'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.1.3 $: "_CODE553 Hostname required"','sendmail:parse0','553 5.1.3 Hostname required'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.1.2 $: "_CODE553 Invalid host name"','sendmail:parse0','553 5.1.2 Invalid host name'),
 ('sendmail','cf/m4/proto.m4','$#error $@ 5.1.2 $: "_CODE553 Local part must not end with a dot"','sendmail:parse0','553 5.1.2 Local part must not end with a dot'),
 ('sendmail','sendmail/srvrsmtp.c','"552 5.2.3 Message size exceeds maximum value"','sendmail:max_message_size','552 5.2.3 Message size exceeds maximum value'),
 ('sendmail','sendmail/daemon.c','"421 4.4.5 Too many SMTP sessions for this host"','sendmail:max_sessions_per_host','421 4.4.5 Too many SMTP sessions for this host'),
 ('sendmail','sendmail/srvrsmtp.c','"452 4.4.5 Insufficient disk space; try again later"','sendmail:disk_space','452 4.4.5 Insufficient disk space; try again later'),
 ('sendmail','sendmail/collect.c','"421 4.3.1 Out of disk space for temp file"','sendmail:disk_space','421 4.3.1 Out of disk space for temp file'),
 ('sendmail','sendmail/srvrsmtp.c','"421 4.7.0 %s Too many bad commands; closing connection"','sendmail:bad_commands','421 4.7.0 mail.example.net Too many bad commands; closing connection'),
 ('sendmail','sendmail/deliver.c','"554 5.4.6 Too many hops %d (%d max): from %s via %s, to %s"','sendmail:max_hops','554 5.4.6 Too many hops 26 (25 max): from <user@example.com> via mail.example.net, to <user@example.org>'),
 # Dovecot LMTP
 ('dovecot','src/lmtp/lmtp-recipient.c','"User doesn\'t exist: %s"','dovecot:user_lookup',"550 5.1.1 <nobody@example.com> User doesn't exist: nobody@example.com"),
 ('dovecot','src/plugins/quota/quota-settings.c','.quota_exceeded_message = "Quota exceeded (mailbox for user is full)"','dovecot:quota','552 5.2.2 <user@example.com> Quota exceeded (mailbox for user is full)'),
 ('dovecot','src/lmtp/lmtp-local.c','smtp_server_recipient_reply(rcpt, 452, "4.2.2", "%s", error);','dovecot:quota','452 4.2.2 <user@example.com> Quota exceeded (mailbox for user is full)'),
 ('dovecot','src/lib-storage/mail-error.h','#define MAIL_ERRSTR_NO_QUOTA "Not enough disk quota"','dovecot:quota','552 5.2.2 <user@example.com> Not enough disk quota'),
 # OpenSMTPD
 ('opensmtpd','usr.sbin/smtpd/lka_session.c','"550 Invalid recipient"','opensmtpd:expand','550 Invalid recipient'),
 ('opensmtpd','usr.sbin/smtpd/smtp_session.c','"554 %s %s: Transaction failed, message too big"','opensmtpd:max_message_size','554 5.3.4 Message too big for system: Transaction failed, message too big'),
 ('opensmtpd','usr.sbin/smtpd/smtp_session.c','"452 %s %s: Too many messages sent"','opensmtpd:max_messages','452 4.5.3 Too many recipients: Too many messages sent'),
 ('opensmtpd','usr.sbin/smtpd/smtp_session.c','"550 %s %s: Message is not RFC 2822 compliant"','opensmtpd:rfc2822','550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant'),
 ('opensmtpd','usr.sbin/smtpd/smtp_session.c','"530 %s %s: Must issue a STARTTLS command first"','opensmtpd:starttls_required','530 5.5.1 Invalid command: Must issue a STARTTLS command first'),
 ('opensmtpd','usr.sbin/smtpd/smtp_session.c','"500 %s %s: Loop detected"','opensmtpd:loop','500 5.4.6 Routing loop detected: Loop detected'),
 # Haraka
 ('haraka-plugin-fcrdns','index.js','`client [${rip}] rejected; no rDNS`','haraka:fcrdns','554 client [192.0.2.1] rejected; no rDNS'),
 ('haraka-plugin-fcrdns','index.js',"'Sorry, no FCrDNS match found'",'haraka:fcrdns','554 Sorry, no FCrDNS match found'),
 ('haraka-plugin-helo.checks','index.js',"'HELO host name invalid'",'haraka:helo.checks','550 HELO host name invalid'),
 ('haraka-plugin-helo.checks','index.js',"'That HELO not allowed here'",'haraka:helo.checks','550 That HELO not allowed here'),
 ('haraka-plugin-helo.checks','index.js',"'HELO host does not match rDNS'",'haraka:helo.checks','550 HELO host does not match rDNS'),
 ('haraka-plugin-helo.checks','index.js',"'Invalid address format in HELO'",'haraka:helo.checks','550 Invalid address format in HELO'),
 ('haraka-plugin-helo.checks','index.js',"'HELO is dynamic'",'haraka:helo.checks','550 HELO is dynamic'),
 ('haraka-plugin-helo.checks','index.js',"'Big company w/o rDNS? Unlikely.'",'haraka:helo.checks','550 Big company w/o rDNS? Unlikely.'),
 ('haraka-plugin-helo.checks','index.js',"'You are not who you say you are'",'haraka:helo.checks','550 You are not who you say you are'),
 ('haraka-plugin-helo.checks','index.js',"'HELO IP literal does not match your IP address'",'haraka:helo.checks','550 HELO IP literal does not match your IP address'),
 ('haraka-plugin-helo.checks','index.js',"'Invalid HELO host cannot achieve forward DNS match'",'haraka:helo.checks','550 Invalid HELO host cannot achieve forward DNS match'),
 ('haraka-plugin-helo.checks','index.js',"'HELO host has no forward DNS match'",'haraka:helo.checks','550 HELO host has no forward DNS match'),
 ('haraka-plugin-spf','index.js','`${msgpre} SPF Fail`','haraka:spf','550 sender <user@example.com> SPF Fail'),
 ('haraka-plugin-spf','index.js','`${msgpre} SPF SoftFail`','haraka:spf','550 sender <user@example.com> SPF SoftFail'),
 ('haraka-plugin-spf','index.js','`${msgpre} SPF record not found`','haraka:spf','550 sender <user@example.com> SPF record not found'),
 ('haraka-plugin-spf','index.js','`${msgpre} SPF Permanent Error`','haraka:spf','550 sender mail.example.com SPF Permanent Error'),
 ('haraka-plugin-spf','index.js','`${msgpre} SPF Temporary Error`','haraka:spf','450 sender <user@example.com> SPF Temporary Error'),
 ('haraka-plugin-spf','index.js','`http://www.openspf.org/Why?s=${scope}&id=${sender_id}&ip=${connection.remote.ip}`','haraka:spf','550 5.7.1 http://www.openspf.org/Why?s=mfrom&id=user@example.com&ip=192.0.2.1'),
 ('haraka-plugin-dns-list','index.js','`host [${connection.remote.ip}] is listed on ${zones.join(\', \')}`','haraka:dns-list','554 host [192.0.2.1] is listed on zen.spamhaus.org'),
 ('haraka-plugin-dns-list','index.js','is listed by ips.backscatterer.org`','haraka:dns-list','550 Host mail.example.com [192.0.2.1] is listed by ips.backscatterer.org'),
 ('haraka-plugin-greylist','config/greylist.ini','text = Greylisted. Please come back later.','haraka:greylist','451 4.7.1 Greylisted. Please come back later.'),
 ('haraka-plugin-greylist','index.js',"'Backend failure. Please, retry later or contact our support.'",'haraka:backend_error','450 4.7.0 Backend failure. Please, retry later or contact our support.'),
 ('haraka-plugin-limit','index.js',"'Too many concurrent connections'",'haraka:limit','421 Too many concurrent connections'),
 ('haraka-plugin-limit','index.js',"'connection rate limit exceeded'",'haraka:limit','421 connection rate limit exceeded'),
 ('haraka-plugin-limit','index.js',"'recipient rate limit exceeded'",'haraka:limit','421 recipient rate limit exceeded'),
 ('haraka-plugin-limit','index.js',"'rcpt rate limit exceeded'",'haraka:limit','450 rcpt rate limit exceeded'),
 ('haraka-plugin-limit','index.js',"'null recip rate limit'",'haraka:limit','450 null recip rate limit'),
 ('haraka-plugin-qmail-deliverable','index.js',"[DENY, 'not deliverable']",'haraka:qmail-deliverable:not_deliverable','550 not deliverable'),
 ('haraka-plugin-qmail-deliverable','index.js',"[DENY, 'not local']",'haraka:qmail-deliverable:not_local','550 not local'),
 ('haraka-plugin-qmail-deliverable','index.js',"'mailing lists do not accept null senders'",'haraka:qmail-deliverable:null_sender','550 mailing lists do not accept null senders'),
 ('haraka-plugin-qmail-deliverable','index.js',"'error communicating with qmail-deliverabled.'",'haraka:backend_error','450 error communicating with qmail-deliverabled.'),
 ('Haraka','plugins/rcpt_to.host_list_base.js','`Mail from domain \'${domain}\' is not allowed from your host`','haraka:anti_spoof',"550 Mail from domain 'example.com' is not allowed from your host"),
 ('Haraka','connection.js','`I cannot deliver mail for ${rcpt.format()}`','haraka:core_rcpt','550 I cannot deliver mail for <user@example.net>'),
 ('Haraka','connection.js',"this.respond(550, 'Authentication required')",'haraka:core_auth','550 Authentication required'),
 ('Haraka','connection.js',"'Message too big!'",'haraka:core_size','550 Message too big!'),
 ('Haraka','plugins/toobusy.js',"'Too busy; please try again later'",'haraka:toobusy','421 Too busy; please try again later'),
 ('Haraka','plugins/data.signatures.js',"'Mail matches a known spam signature'",'haraka:data.signatures','550 Mail matches a known spam signature'),
 ('Haraka','connection.js',"this.respond(521, 'Command line too long'",'haraka:core_protocol','521 Command line too long'),
 ('Haraka','connection.js',"this.respond(503, 'Use EHLO/HELO before MAIL')",'haraka:core_protocol','503 Use EHLO/HELO before MAIL'),
 ('Haraka','connection.js',"'Syntax error (8-bit characters not allowed)'",'haraka:core_protocol','501 Syntax error (8-bit characters not allowed)'),
 ('haraka-plugin-clamd','index.js','`Message is infected with ${virus || \'UNKNOWN\'}`','haraka:clamd','550 Message is infected with Eicar-Test-Signature'),
 ('haraka-plugin-clamd','index.js',"'Virus scanner timed out'",'haraka:backend_error','450 Virus scanner timed out'),
 ('haraka-plugin-spamassassin','index.js',"'spam score exceeded threshold'",'haraka:spamassassin','550 spam score exceeded threshold'),
 ('haraka-plugin-spamassassin','index.js',"'spamd scan error'",'haraka:backend_error','450 spamd scan error'),
 ('haraka-plugin-rspamd','index.js',"'Detected as spam'",'haraka:rspamd','550 Detected as spam'),
 ('haraka-plugin-rspamd','index.js',"'Rspamd scan timeout'",'haraka:backend_error','450 Rspamd scan timeout'),
 ('haraka-plugin-headers','index.js','`Only one ${failures[0]} header allowed. See RFC 5322, Section 3.6`','haraka:headers','550 Only one Date header allowed. See RFC 5322, Section 3.6'),
 ('haraka-plugin-headers','index.js','`Required header \'${failures[0]}\' missing`','haraka:headers',"550 Required header 'Message-Id' missing"),
 ('haraka-plugin-headers','index.js',"'outgoing mail must not have a Return-Path header (RFC 5321)'",'haraka:headers','550 outgoing mail must not have a Return-Path header (RFC 5321)'),
 ('haraka-plugin-headers','index.js',"'The Date header is too far in the future'",'haraka:headers','550 The Date header is too far in the future'),
 ('haraka-plugin-headers','index.js',"'The Date header is too old'",'haraka:headers','550 The Date header is too old'),
 ('haraka-plugin-headers','index.js',"'Invalid Delivered-To header content'",'haraka:headers','550 Invalid Delivered-To header content'),
 ('haraka-plugin-headers','index.js','`Phishing message appears to impersonate ${pt.domain}`','haraka:headers:from_phish','550 Phishing message appears to impersonate example.com'),
]
MIRROR=sys.argv[1] if len(sys.argv)>1 else '/work/.mirror'
REPOS={'postfix':('vdukhovni','postfix'),'exim':('Exim','exim'),'sendmail':('hrs-allbsd','sendmail'),'dovecot':('dovecot','core'),'opensmtpd':('OpenSMTPD','OpenSMTPD'),'Haraka':('haraka','Haraka')}
PROVIDER={'postfix':'Postfix','exim':'Exim','sendmail':'Sendmail','dovecot':'Dovecot','opensmtpd':'OpenSMTPD'}
def repo_of(key):
    owner,name=REPOS.get(key,('haraka',key))
    return owner,name,os.path.join(MIRROR,f'{owner}+{name}','repo')
here=os.path.dirname(os.path.abspath(__file__))
texts={}; revs={}
why=collections.Counter(); out=[]
dedupe=common.Dedupe(common.known_replies(here,('bounce-corpus.jsonl','bounce-pool4.jsonl','bounce-pool5.jsonl','bounce-pool6.jsonl','bounce-pool7.jsonl','bounce-pool8.jsonl','bounce-pool9.jsonl')),why)
for key,path,anchor,restriction,reply in ENTRIES:
    owner,name,gitdir=repo_of(key)
    if key not in revs: revs[key]=common.git(gitdir,'rev-parse','HEAD').strip()
    rev=revs[key]
    if (key,path) not in texts: texts[(key,path)]=common.git(gitdir,'show',f'{rev}:{path}')
    assert anchor in texts[(key,path)], (key,path,anchor)
    cls=LABEL[restriction]
    if dedupe.keep(reply):
        out.append({'reply':reply,'expectedClass':cls,'hardness':common.hardness(reply,cls),'provider':PROVIDER.get(key,'Haraka'),
                    'source':f'https://github.com/{owner}/{name}/blob/{rev}/{path} ({restriction})','split':'heldout10'})
for e in out: print(json.dumps(e,ensure_ascii=False))
print(f'pool 10: {len(out)} kept of {len(ENTRIES)}; dropped: {dict(why)}; classes: {dict(collections.Counter(e["expectedClass"] for e in out))}',file=sys.stderr)
