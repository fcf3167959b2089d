-- miltertest cases against a running vetod started with vetod_test.toml.
--   miltertest -s cases.lua -D sock=inet:PORT@127.0.0.1
-- Prints "ok CASE" per case; on the first failure prints "FAIL CASE: why" and exits non-zero
-- (miltertest does not print error() messages itself).

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

function fail(case, why)
  mt.echo("FAIL " .. case .. ": " .. why)
  error(why)
end

function check(case, cond, why)
  if not cond then fail(case, why) end
end

-- A new connection as an MTA opens it. Over a unix socket vetod switches the connect and
-- MAIL steps off (SMFIP_NOCONNECT/NOMAIL) and asks for their information as macros at RCPT;
-- miltertest does not send a step the milter switched off, nor the macro lists it asked for,
-- so `send` sends those macros itself, as Postfix and Sendmail do.
function open(case, client)
  local conn = mt.connect(sock, 20, 0.25)
  check(case, conn ~= nil, "connect to " .. sock)
  check(case, mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")
  check(case, mt.macro(conn, SMFIC_CONNECT, "j", "mta.test", "{daemon_name}", "smtpd") == nil,
        "macro")
  if not mt.test_option(conn, SMFIP_NOCONNECT) then
    check(case, mt.conninfo(conn, "client.test", client or "192.0.2.10") == nil, "conninfo")
  end
  check(case, mt.helo(conn, "client.test") == nil, "helo")
  return conn
end

-- "<a@b>" -> "a@b", as {mail_addr} carries it.
function bare(addr)
  return (string.gsub(addr, "^<(.*)>$", "%1"))
end

-- One message on a new connection (or on `conn` if given). Returns the connection.
-- msg.client: the client address sent as {client_addr} when the connect step is off
-- (msg.client_macro overrides its spelling, e.g. "IPv6:...").
function send(case, msg, conn)
  if conn == nil then conn = open(case, msg.client) end
  local from = msg.from or "<sender@example.org>"
  check(case, mt.macro(conn, SMFIC_MAIL, "i", msg.qid or "QID1", "{auth_authen}", "") == nil,
        "macro mail")
  if not mt.test_option(conn, SMFIP_NOMAIL) then
    check(case, mt.mailfrom(conn, from) == nil, "mailfrom")
  end
  check(case, mt.macro(conn, SMFIC_RCPT, "i", msg.qid or "QID1", "j", "mta.test",
        "{daemon_name}", "smtpd", "{client_addr}", msg.client_macro or msg.client or "192.0.2.10",
        "{client_name}", "client.test", "{auth_authen}", "", "{mail_addr}", bare(from)) == nil,
        "macro rcpt")
  for _, r in ipairs(msg.rcpts or {"<user@example.test>"}) do
    check(case, mt.rcptto(conn, r) == nil, "rcptto " .. r)
  end
  for _, h in ipairs(msg.headers or {}) do
    check(case, mt.header(conn, h[1], h[2]) == nil, "header " .. h[1])
  end
  if not mt.test_option(conn, SMFIP_NOEOH) then
    check(case, mt.eoh(conn) == nil, "eoh")
  end
  for _, b in ipairs(msg.body) do
    check(case, mt.bodystring(conn, b) == nil, "body")
  end
  check(case, mt.eom(conn) == nil, "eom")
  return conn
end

function std_headers(subject)
  return {{"From", "Sender <sender@example.org>"}, {"To", "user@example.test"},
          {"Date", "Fri, 27 Nov 2026 10:00:00 +0000"}, {"Message-ID", "<m1@example.org>"},
          {"Subject", subject}}
end

function continued(conn)
  local r = mt.getreply(conn)
  return r == SMFIR_CONTINUE or r == SMFIR_ACCEPT
end

cases = {}

cases.ham = function(c)
  local h = std_headers("lunch on friday")
  table.insert(h, {"X-Spam-Flag", "YES"})  -- forged: must be removed
  local conn = send(c, {headers = h, body = {"Shall we meet at noon?\r\n"}})
  check(c, continued(conn), "not accepted (reply " .. mt.getreply(conn) .. ")")
  check(c, mt.eom_check(conn, MT_HDRADD, "X-Veto"), "no X-Veto header added")
  check(c, string.find(mt.getheader(conn, "X-Veto", 0) or "", "^accept, score=") ~= nil,
        "X-Veto value: " .. tostring(mt.getheader(conn, "X-Veto", 0)))
  check(c, mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag"), "forged X-Spam-Flag not deleted")
  check(c, not mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag"), "ham got X-Spam-Flag")
  mt.disconnect(conn)
end

cases.tag = function(c)
  local conn = send(c, {headers = {{"From", "x@example.org"}, {"Subject", "offer"}}, body = {
      "get free cash here. order now! limited time offer, risk-free, click here\r\n",
      "make money from home, cheap viagra, send to my bitcoin wallet\r\n"}})
  check(c, continued(conn), "not accepted (reply " .. mt.getreply(conn) .. ")")
  check(c, mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag", "YES"), "no X-Spam-Flag: YES")
  check(c, mt.eom_check(conn, MT_HDRADD, "X-Spam-Score"), "no X-Spam-Score")
  check(c, mt.eom_check(conn, MT_HDRADD, "X-Spam-Report"), "no X-Spam-Report")
  check(c, string.find(mt.getheader(conn, "X-Veto", 0) or "", "^tag, score=") ~= nil,
        "X-Veto value: " .. tostring(mt.getheader(conn, "X-Veto", 0)))
  mt.disconnect(conn)
end

cases.reject = function(c)
  local conn = send(c, {headers = std_headers("test"), body = {GTUBE .. "\r\n"}})
  check(c, mt.getreply(conn) == SMFIR_REPLYCODE, "reply " .. mt.getreply(conn))
  local text = reject_text or "veto test: rejected as spam"
  check(c, mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", text),
        "not the configured reply (" .. text .. ")")
  mt.disconnect(conn)
end

cases.tempfail = function(c)
  local conn = send(c, {headers = std_headers("t"), body = {"veto-test-tempfail\r\n"}})
  check(c, mt.getreply(conn) == SMFIR_REPLYCODE, "reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1", "veto test: try again later"),
        "not the configured 4xx")
  mt.disconnect(conn)
end

cases.discard = function(c)
  local conn = send(c, {headers = std_headers("d"), body = {"veto-test-discard\r\n"}})
  check(c, mt.getreply(conn) == SMFIR_DISCARD, "reply " .. mt.getreply(conn))
  mt.disconnect(conn)
end

cases.quarantine = function(c)
  local conn = send(c, {headers = std_headers("q"), body = {"veto-test-quarantine\r\n"}})
  check(c, continued(conn), "reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_QUARANTINE), "not quarantined")
  check(c, mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag", "YES"), "no X-Spam-Flag")
  mt.disconnect(conn)
end

cases.subject = function(c)
  local conn = send(c, {headers = std_headers("hello there"), body = {"veto-test-subject\r\n"}})
  check(c, continued(conn), "reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_HDRCHANGE, "Subject", "[SPAM] hello there"),
        "Subject not rewritten")
  mt.disconnect(conn)
end

cases.redirect = function(c)
  local conn = send(c, {headers = std_headers("r"), body = {"veto-test-redirect\r\n"}})
  check(c, continued(conn), "reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_RCPTDELETE, "<user@example.test>"), "recipient not deleted")
  check(c, mt.eom_check(conn, MT_RCPTADD, "<spam@example.test>"), "spam mailbox not added")
  mt.disconnect(conn)
end

cases.sizecap = function(c)
  -- GTUBE first: were the message scanned, it would be rejected.
  local body = {GTUBE .. "\r\n"}
  local line = string.rep("x", 998) .. "\r\n"
  for i = 1, 80 do table.insert(body, line) end  -- 80 KB > max_message_bytes (64 KB)
  local conn = send(c, {headers = std_headers("big"), body = body})
  check(c, continued(conn), "reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_HDRADD, "X-Veto-Skipped"), "no X-Veto-Skipped header")
  mt.disconnect(conn)
end

cases.recipients_disagree = function(c)
  -- strict.test rejects from score 5 (tenant), example.test only tags.
  local conn = send(c, {rcpts = {"<user@example.test>", "<boss@strict.test>"},
      headers = {{"From", "x@example.org"}, {"Subject", "offer"}}, body = {
      "get free cash here. order now! limited time offer, risk-free, click here\r\n",
      "make money from home, cheap viagra, send to my bitcoin wallet\r\n"}})
  check(c, continued(conn), "reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_RCPTDELETE, "<boss@strict.test>"), "strict rcpt not deleted")
  check(c, not mt.eom_check(conn, MT_RCPTDELETE, "<user@example.test>"), "wrong rcpt deleted")
  check(c, mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag", "YES"), "kept copy not tagged")
  mt.disconnect(conn)
end

cases.two_messages = function(c)
  -- A reject, then a ham on the same connection: the session starts clean.
  local conn = send(c, {headers = std_headers("one"), body = {GTUBE .. "\r\n"}})
  check(c, mt.getreply(conn) == SMFIR_REPLYCODE, "first: reply " .. mt.getreply(conn))
  send(c, {qid = "QID2", headers = std_headers("two"), body = {"just a note\r\n"}}, conn)
  check(c, continued(conn), "second: reply " .. mt.getreply(conn))
  check(c, string.find(mt.getheader(conn, "X-Veto", 0) or "", "^accept") ~= nil,
        "second: X-Veto " .. tostring(mt.getheader(conn, "X-Veto", 0)))
  mt.disconnect(conn)
end

cases.abort = function(c)
  -- An aborted message (RSET), then a normal one.
  local conn = open(c)
  mt.macro(conn, SMFIC_RCPT, "{mail_addr}", "a@example.org", "{client_addr}", "192.0.2.10")
  if not mt.test_option(conn, SMFIP_NOMAIL) then mt.mailfrom(conn, "<a@example.org>") end
  mt.rcptto(conn, "<user@example.test>")
  mt.header(conn, "Subject", "aborted " .. GTUBE)
  mt.abort(conn)
  send(c, {headers = std_headers("after abort"), body = {"fine\r\n"}}, conn)
  check(c, continued(conn), "reply " .. mt.getreply(conn))
  mt.disconnect(conn)
end

-- The sender and the client address reach the policy whether they come from the MAIL and
-- connect steps (inet) or as macros at RCPT (unix): vetod_test.toml denies
-- denied@example.org, 192.0.2.66 and 2001:db8::66. Each time a ham follows on the same
-- connection: nothing of the denied message stays with the session.
function denied_then_ham(c, first)
  first.headers = std_headers("denied")
  first.body = {"just a note\r\n"}
  local conn = send(c, first)
  check(c, mt.getreply(conn) == SMFIR_REPLYCODE, "denied: reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", "veto test: rejected as spam"),
        "denied: not the reject reply")
  if first.client == nil then
    send(c, {qid = "QID2", headers = std_headers("two"), body = {"just a note\r\n"}}, conn)
    check(c, continued(conn), "ham after denied: reply " .. mt.getreply(conn))
  end
  mt.disconnect(conn)
end

cases.negotiation = function(c)
  -- Over a unix socket the connect, MAIL, DATA and end-of-headers steps are switched off
  -- (miltertest offers them and macro lists); HELO is kept. Over inet every step is kept, so
  -- each packet the MTA sends reaches a callback that pushes our ACK out. Either way the steps
  -- vetod never refuses, body chunks included, get no reply.
  local conn = open(c)
  local unix = string.sub(sock, 1, 5) == "unix:"
  for _, o in ipairs({SMFIP_NOCONNECT, SMFIP_NOMAIL, SMFIP_NODATA, SMFIP_NOEOH}) do
    check(c, mt.test_option(conn, o) == unix, "step option " .. o .. " on=" ..
          tostring(mt.test_option(conn, o)) .. " over " .. sock)
  end
  check(c, not mt.test_option(conn, SMFIP_NOHELO), "HELO switched off")
  for _, o in ipairs({SMFIP_NR_HELO, SMFIP_NR_RCPT, SMFIP_NR_HDR, SMFIP_NR_BODY}) do
    check(c, mt.test_option(conn, o), "no-reply option " .. o .. " off over " .. sock)
  end
  mt.disconnect(conn)
end

cases.no_macro_lists = function(c)
  -- An MTA that offers the step flags but not macro lists (SMFIF_SETSYMLIST, e.g. an old
  -- Sendmail) keeps the connect and MAIL steps: the sender and client come from them.
  local conn = mt.connect(sock, 20, 0.25)
  check(c, conn ~= nil, "connect to " .. sock)
  -- Debian's miltertest takes (conn, version, steps, actions), not the man page's order.
  check(c, mt.negotiate(conn, nil, nil, SMFIF_ADDHDRS + SMFIF_CHGHDRS + SMFIF_ADDRCPT +
        SMFIF_DELRCPT + SMFIF_QUARANTINE) == nil, "negotiate")
  check(c, not mt.test_action(conn, SMFIF_SETSYMLIST), "macro lists asked for, not offered")
  check(c, not mt.test_option(conn, SMFIP_NOCONNECT), "connect switched off without lists")
  check(c, not mt.test_option(conn, SMFIP_NOMAIL), "MAIL switched off without lists")
  check(c, mt.conninfo(conn, "client.test", "192.0.2.10") == nil, "conninfo")
  check(c, mt.helo(conn, "client.test") == nil, "helo")
  check(c, mt.mailfrom(conn, "<denied@example.org>") == nil, "mailfrom")
  check(c, mt.rcptto(conn, "<user@example.test>") == nil, "rcptto")
  for _, h in ipairs(std_headers("no lists")) do
    check(c, mt.header(conn, h[1], h[2]) == nil, "header")
  end
  if not mt.test_option(conn, SMFIP_NOEOH) then check(c, mt.eoh(conn) == nil, "eoh") end
  check(c, mt.bodystring(conn, "just a note\r\n") == nil, "body")
  check(c, mt.eom(conn) == nil, "eom")
  check(c, mt.getreply(conn) == SMFIR_REPLYCODE, "reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", "veto test: rejected as spam"),
        "denied sender (from the MAIL step) not rejected")
  mt.disconnect(conn)
end

cases.deny_sender = function(c)
  denied_then_ham(c, {from = "<denied@example.org>"})
end

cases.deny_client = function(c)
  denied_then_ham(c, {client = "192.0.2.66"})
end

cases.deny_client_ipv6 = function(c)
  denied_then_ham(c, {client = "2001:db8::66", client_macro = "IPv6:2001:db8::66"})
end

cases.reload_adds_redirect = function(c)
  -- Run by miltertest.sh against a vetod whose config cannot redirect: the connection
  -- negotiates no SMFIF_ADDRCPT. The script then reloads a config that redirects (and writes
  -- `marker` when done); a redirect on the old connection must not half-happen (recipient
  -- deleted, spam mailbox not added): the fail mode (tempfail) applies instead.
  local conn = send(c, {headers = std_headers("before"), body = {"hello\r\n"}})
  check(c, continued(conn), "first: reply " .. mt.getreply(conn))
  check(c, not mt.test_action(conn, SMFIF_ADDRCPT), "ADDRCPT negotiated without redirect")
  local r = io.open(marker .. ".ready", "w")  -- tells miltertest.sh to reload now
  r:write("ready\n")
  r:close()
  for i = 1, 600 do
    local f = io.open(marker, "r")
    if f then f:close() break end
    mt.sleep(0.1)
  end
  send(c, {qid = "QID2", headers = std_headers("after"), body = {"veto-test-redirect\r\n"}}, conn)
  check(c, mt.getreply(conn) == SMFIR_REPLYCODE, "second: reply " .. mt.getreply(conn))
  check(c, mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1", "Try again later"),
        "second: not tempfailed")
  check(c, not mt.eom_check(conn, MT_RCPTDELETE, "<user@example.test>"), "second: rcpt deleted")
  mt.disconnect(conn)
  -- A new connection negotiates with the new snapshot and redirects.
  conn = send(c, {headers = std_headers("new conn"), body = {"veto-test-redirect\r\n"}})
  check(c, mt.eom_check(conn, MT_RCPTADD, "<spam@example.test>"), "new connection: no redirect")
  mt.disconnect(conn)
end

order = {"ham", "tag", "reject", "tempfail", "discard", "quarantine", "subject", "redirect",
         "sizecap", "recipients_disagree", "two_messages", "abort", "negotiation", "no_macro_lists", "deny_sender", "deny_client",
         "deny_client_ipv6"}
mt.set_timeout(15)
if only == "reload_adds_redirect" then table.insert(order, only) end
for _, name in ipairs(order) do
  if only == nil or only == name then
    cases[name](name)
    mt.echo("ok " .. name)
  end
end
