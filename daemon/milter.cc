#include "daemon/milter.h"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/strings.h"
#include "daemon/log.h"
#include "daemon/os.h"
#include "daemon/session.h"

namespace veto::daemon {
namespace {

MilterRuntime* g_rt = nullptr;

constexpr unsigned long kAllActions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT |
                                      SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;

// Steps we never answer with anything but "continue": the MTA need not wait for a reply.
// Body chunks too: Postfix then sends the last chunk and the end of message in one go instead
// of waiting for a reply in between (one libmilter hand-off fewer per message). The price:
// past the size cap vetod cannot ask the MTA to stop sending body (SMFIR_SKIP is a reply);
// the rest is read and dropped, never buffered (Session).
constexpr unsigned long kNoReplySteps = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
                                        SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_HDR |
                                        SMFIP_NR_EOH | SMFIP_NR_BODY;

// Steps vetod does without when the MTA can switch them off: connect and MAIL, whose
// information (client address and name, j, {daemon_name}; sender, i, {auth_authen}) then comes
// as macros with each RCPT — only when the MTA takes macro lists (SMFIF_SETSYMLIST); DATA and
// end-of-headers, which tell vetod nothing. Each step off is one command fewer for libmilter to
// read and dispatch. HELO stays: Postfix has no macro for the HELO name, and policy lists may
// match it.
constexpr unsigned long kStepsViaMacros = SMFIP_NOCONNECT | SMFIP_NOMAIL;
constexpr unsigned long kStepsNeverNeeded = SMFIP_NODATA | SMFIP_NOEOH;

// The macros asked for at RCPT when connect and MAIL are off: everything those steps gave.
constexpr char kRcptMacrosAll[] =
    "i j {daemon_name} {client_addr} {client_name} {auth_authen} {mail_addr}";

struct Connection {
  explicit Connection(const Snapshot& s)
      : possible_actions(s.possible_actions), session(s.daemon().max_message_bytes) {}

  // From the snapshot at connect time: the size cap and the negotiated actions follow it for
  // the whole connection (copied, so a long SMTP session does not keep an old pipeline alive);
  // each message's scan pins the newest snapshot itself.
  uint32_t possible_actions;
  Session session;
  unsigned long actions = 0;   // negotiated SMFIF_*
  unsigned long protocol = 0;  // negotiated SMFIP_*
  bool client_known = false;  // connect info seen (the connect step, or macros at RCPT)
  // TCP with no-reply steps: the connection's socket, whose pending ACK each no-reply step
  // pushes out (see OnNegotiate); -1 otherwise.
  int ack_fd = -1;
};

Connection* Conn(SMFICTX* ctx) { return static_cast<Connection*>(smfi_getpriv(ctx)); }

std::string Macro(SMFICTX* ctx, const char* name) {
  const char* v = smfi_getsymval(ctx, const_cast<char*>(name));
  return v != nullptr ? std::string(v) : std::string();
}

sfsistat Continue(Connection* c, unsigned long no_reply_flag) {
  if (c == nullptr || (c->protocol & no_reply_flag) == 0) return SMFIS_CONTINUE;
  if (c->ack_fd >= 0) PushAck(c->ack_fd);
  return SMFIS_NOREPLY;
}

// libmilter does not expose a connection's socket. Its context (struct smfi_str in
// libmilter/libmilter.h, this layout since Sendmail 8.12) begins with the thread id, then the
// socket. vetod uses the value only once IsAcceptedTcpSocketOnPort says it is a TCP connection
// on vetod's own port; should a libmilter ever lay the struct out differently, the check fails
// and vetod answers every step over TCP, as it did before (slower, never wrong).
int LibmilterSocket(SMFICTX* ctx) {
  int fd = -1;
  std::memcpy(&fd, reinterpret_cast<const char*>(ctx) + sizeof(pthread_t), sizeof(fd));
  return fd;
}

// A connection whose negotiate step did not run (an MTA on protocol < 6 skips it).
Connection* EnsureConn(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  if (c != nullptr) return c;
  if (g_rt == nullptr) return nullptr;
  const std::shared_ptr<const Snapshot> snap = g_rt->snapshots->Get();
  if (snap == nullptr) return nullptr;
  c = new Connection(*snap);
  if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
    delete c;
    return nullptr;
  }
  c->actions = kAllActions & ~SMFIF_SETSYMLIST;
  g_rt->metrics->ConnectionOpened();
  return c;
}

sfsistat OnNegotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                     unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                     unsigned long* pf3) {
  Connection* c = EnsureConn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  c->actions = MilterActionFlags(c->possible_actions) & f0;
  const bool symlist = (f0 & SMFIF_SETSYMLIST) != 0;
  if (symlist) c->actions |= SMFIF_SETSYMLIST;
  // Over a unix socket there is no Nagle: no-reply steps, and the steps vetod does without
  // are switched off where the MTA offers it.
  // Over TCP, Postfix does not set TCP_NODELAY on its milter socket: a packet it sends without
  // waiting for a reply holds its next one back until our ACK, which the kernel delays
  // (~40 ms) when we send nothing back. So over TCP every step is kept — each packet Postfix
  // sends then reaches one of our callbacks (a switched-off step's macros would come alone) —
  // and steps get no reply only when each callback can push the pending ACK out at once
  // (TCP_QUICKACK on the connection's socket); without the socket, every step is answered and
  // each reply carries the ACK.
  unsigned long wanted = SMFIP_SKIP | SMFIP_NOUNKNOWN;
  if (g_rt->no_reply_steps) {
    wanted |= kNoReplySteps | kStepsNeverNeeded;
    if (symlist) wanted |= kStepsViaMacros;
  } else if (g_rt->tcp_port > 0) {
    const int fd = LibmilterSocket(ctx);
    if (IsAcceptedTcpSocketOnPort(fd, g_rt->tcp_port)) {
      c->ack_fd = fd;
      wanted |= kNoReplySteps;
    }
  }
  c->protocol = f1 & wanted;
  *pf0 = c->actions;
  *pf1 = c->protocol;
  *pf2 = 0;
  *pf3 = 0;
  if (symlist) {
    // A switched-off step's macros are still sent (Postfix): its list is kept to one name.
    const bool no_conn = c->protocol & SMFIP_NOCONNECT;
    const bool no_mail = c->protocol & SMFIP_NOMAIL;
    smfi_setsymlist(ctx, SMFIM_CONNECT,
                    const_cast<char*>(no_conn ? "j" : "j _ {daemon_name} {client_addr}"));
    smfi_setsymlist(ctx, SMFIM_ENVFROM, const_cast<char*>(no_mail ? "i" : "i {auth_authen}"));
    smfi_setsymlist(ctx, SMFIM_ENVRCPT,
                    const_cast<char*>(no_conn || no_mail ? kRcptMacrosAll : "i"));
    smfi_setsymlist(ctx, SMFIM_EOM, const_cast<char*>("i"));
  }
  return SMFIS_CONTINUE;
}

// {client_addr} as an address: Postfix and Sendmail write IPv6 ones as "IPv6:2001:db8::1".
std::string ClientAddrMacro(SMFICTX* ctx) {
  std::string a = Macro(ctx, "{client_addr}");
  if (a.size() > 5 && EqualsIgnoreCase(std::string_view(a).substr(0, 5), "IPv6:")) a.erase(0, 5);
  return a;
}

// The MTA's names (j, {daemon_name}), which come with the client: at connect, or with the
// first RCPT when the connect step is switched off. The client is known from then on.
void SetServerNames(SMFICTX* ctx, Connection* c) {
  c->session.SetMtaName(Macro(ctx, "j"));
  c->session.SetDaemonName(Macro(ctx, "{daemon_name}"));
  c->client_known = true;
}

sfsistat OnConnect(SMFICTX* ctx, char* hostname, struct sockaddr* addr) {
  Connection* c = EnsureConn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  char ip[INET6_ADDRSTRLEN] = "";
  if (addr != nullptr && addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(addr)->sin_addr, ip, sizeof(ip));
  } else if (addr != nullptr && addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(addr)->sin6_addr, ip, sizeof(ip));
  }
  std::string client_ip = ip;
  if (client_ip.empty()) client_ip = ClientAddrMacro(ctx);
  c->session.Connect(hostname != nullptr ? hostname : "", client_ip);
  SetServerNames(ctx, c);
  return Continue(c, SMFIP_NR_CONN);
}

sfsistat OnHelo(SMFICTX* ctx, char* helo) {
  Connection* c = Conn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  c->session.Helo(helo != nullptr ? helo : "");
  return Continue(c, SMFIP_NR_HELO);
}

// A new message: its sender, queue id and SMTP AUTH user (from the MAIL step, or from the
// macros at its first RCPT when MAIL is switched off).
void StartMessage(SMFICTX* ctx, Connection* c, std::string_view mail_from) {
  c->session.StartMessage(mail_from);
  c->session.SetQueueId(Macro(ctx, "i"));
  c->session.SetAuthUser(Macro(ctx, "{auth_authen}"));
}

sfsistat OnEnvFrom(SMFICTX* ctx, char** argv) {
  Connection* c = Conn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  StartMessage(ctx, c, argv != nullptr && argv[0] != nullptr ? argv[0] : "");
  return Continue(c, SMFIP_NR_MAIL);
}

sfsistat OnEnvRcpt(SMFICTX* ctx, char** argv) {
  Connection* c = Conn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  if (!c->client_known && (c->protocol & SMFIP_NOCONNECT)) {
    c->session.SetClient(Macro(ctx, "{client_name}"), ClientAddrMacro(ctx));
    SetServerNames(ctx, c);
  }
  // The first recipient of a message whose MAIL step was switched off (the session is out of a
  // message after each end of message or abort).
  if (!c->session.in_message() && (c->protocol & SMFIP_NOMAIL)) {
    StartMessage(ctx, c, Macro(ctx, "{mail_addr}"));
  }
  if (argv != nullptr && argv[0] != nullptr) c->session.AddRecipient(argv[0]);
  if (c->session.envelope().queue_id.empty()) c->session.SetQueueId(Macro(ctx, "i"));
  return Continue(c, SMFIP_NR_RCPT);
}

sfsistat OnData(SMFICTX* ctx) { return Continue(Conn(ctx), SMFIP_NR_DATA); }

sfsistat OnHeader(SMFICTX* ctx, char* name, char* value) {
  Connection* c = Conn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  c->session.AddHeader(name != nullptr ? name : "", value != nullptr ? value : "");
  return Continue(c, SMFIP_NR_HDR);
}

sfsistat OnEoh(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  c->session.EndOfHeaders();
  return Continue(c, SMFIP_NR_EOH);
}

sfsistat OnBody(SMFICTX* ctx, unsigned char* data, size_t len) {
  Connection* c = Conn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  const bool kept = c->session.AddBody(
      std::string_view(reinterpret_cast<const char*>(data), data != nullptr ? len : 0));
  if (c->protocol & SMFIP_NR_BODY) return Continue(c, SMFIP_NR_BODY);
  // Over the cap: nothing more of this body is needed.
  if (!kept && (c->protocol & SMFIP_SKIP)) return SMFIS_SKIP;
  return SMFIS_CONTINUE;
}

// The SMFIF_* capability an edit needs.
unsigned long OpFlags(const MilterOp& op) {
  switch (op.kind) {
    case MilterOp::Kind::kDeleteHeader:
    case MilterOp::Kind::kChangeHeader:
      return SMFIF_CHGHDRS;
    case MilterOp::Kind::kAddHeader:
      return SMFIF_ADDHDRS;
    case MilterOp::Kind::kDeleteRcpt:
      return SMFIF_DELRCPT;
    case MilterOp::Kind::kAddRcpt:
      return SMFIF_ADDRCPT;
    case MilterOp::Kind::kQuarantine:
      return SMFIF_QUARANTINE;
  }
  return 0;
}

unsigned long OpFlags(const MilterPlan& plan) {
  unsigned long f = 0;
  for (const MilterOp& op : plan.ops) f |= OpFlags(op);
  return f;
}

// Carries out a plan. Returns false if an smfi_* call failed (logged, counted).
bool Apply(SMFICTX* ctx, const MilterPlan& plan, std::string* failed) {
  bool ok = true;
  auto check = [&](int rc, const MilterOp& op) {
    if (rc == MI_SUCCESS) return;
    ok = false;
    if (!failed->empty()) failed->append(",");
    failed->append(MilterOpKindName(op.kind));
  };
  for (const MilterOp& op : plan.ops) {
    char* name = const_cast<char*>(op.name.c_str());
    char* value = const_cast<char*>(op.value.c_str());
    switch (op.kind) {
      case MilterOp::Kind::kDeleteHeader:
        check(smfi_chgheader(ctx, name, op.index, nullptr), op);
        break;
      case MilterOp::Kind::kChangeHeader:
        check(smfi_chgheader(ctx, name, op.index, value), op);
        break;
      case MilterOp::Kind::kAddHeader:
        check(smfi_addheader(ctx, name, value), op);
        break;
      case MilterOp::Kind::kDeleteRcpt:
        check(smfi_delrcpt(ctx, value), op);
        break;
      case MilterOp::Kind::kAddRcpt:
        check(smfi_addrcpt(ctx, value), op);
        break;
      case MilterOp::Kind::kQuarantine:
        check(smfi_quarantine(ctx, value), op);
        break;
    }
  }
  return ok;
}

sfsistat Disposition2Sfsistat(Disposition d) {
  switch (d) {
    case Disposition::kContinue:
      return SMFIS_CONTINUE;
    case Disposition::kReject:
      return SMFIS_REJECT;
    case Disposition::kTempfail:
      return SMFIS_TEMPFAIL;
    case Disposition::kDiscard:
      return SMFIS_DISCARD;
  }
  return SMFIS_TEMPFAIL;
}

// setreply's text goes through a printf-like expansion in some MTAs: '%' doubled.
std::string EscapePercent(std::string_view s) {
  std::string out;
  for (char ch : s) {
    out.push_back(ch);
    if (ch == '%') out.push_back('%');
  }
  return out;
}

std::string FormatMs(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", seconds * 1e3);
  return buf;
}

std::string FormatScore(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", s);
  return buf;
}

sfsistat OnEom(SMFICTX* ctx) {
  const auto start = std::chrono::steady_clock::now();
  Connection* c = Conn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  Session& s = c->session;
  if (s.envelope().queue_id.empty()) s.SetQueueId(Macro(ctx, "i"));
  s.EndOfHeaders();  // no body and no end-of-headers step (switched off): the blank line
  std::shared_ptr<const Snapshot> snap = g_rt->snapshots->Get();
  const config::DaemonConfig& dc = snap->daemon();
  const bool fail_tempfail = dc.fail_mode != "accept";

  MilterPlan plan;
  std::string outcome;  // what the log says besides the action
  ScanResult scanned;
  bool have_scan = false;
  if (s.oversize()) {
    g_rt->metrics->CountOversize();
    const bool tempfail = dc.oversize_action == "tempfail";
    plan = PlanUnscanned(tempfail, {"452", "4.3.4", "Message too large to scan, try again later"},
                         dc.oversize_header,
                         Cat("skipped, message over ", dc.max_message_bytes, " bytes"),
                         s.headers(), snap->plan_options);
    outcome = Cat(" unscanned=oversize bytes=", s.message_bytes());
  } else {
    ScanRequest req;
    req.raw = s.TakeRaw();
    req.envelope = s.envelope();
    req.raw_rcpts = s.raw_rcpts();
    req.headers = s.headers();
    const int64_t timeout_ms = snap->pipeline->config().limits.scan_timeout_ms;
    absl::StatusOr<ScanResult> r =
        g_rt->scanner->Scan(std::move(req), absl::Milliseconds(timeout_ms > 0 ? timeout_ms : 10000));
    if (r.ok()) {
      scanned = *std::move(r);
      have_scan = true;
      plan = scanned.plan;
    } else {
      ErrorKind kind = ErrorKind::kInternal;
      switch (r.status().code()) {
        case absl::StatusCode::kDeadlineExceeded:
          kind = ErrorKind::kTimeout;
          break;
        case absl::StatusCode::kResourceExhausted:
          kind = ErrorKind::kOverload;
          break;
        case absl::StatusCode::kInvalidArgument:
          kind = ErrorKind::kParse;
          break;
        default:
          break;
      }
      g_rt->metrics->CountError(kind);
      g_rt->metrics->CountFailMode(fail_tempfail);
      plan = PlanUnscanned(fail_tempfail, kDefaultTempfailReply,
                           snap->plan_options.status_header,
                           Cat("unscanned, ", ErrorKindName(kind), ", fail mode accept"),
                           s.headers(), snap->plan_options);
      outcome = Cat(" fail_mode=", fail_tempfail ? "tempfail" : "accept", " error=",
                    ErrorKindName(kind), " (", r.status().message(), ")");
    }
  }

  // A plan that needs an action this connection did not negotiate (a reload added redirect or
  // quarantine since it connected) is not carried out half-way — a recipient deleted without
  // the spam mailbox added would lose the message: the fail mode applies instead.
  if (plan.disposition == Disposition::kContinue) {
    // Header edits the MTA cannot do are dropped (best effort: an MTA without header changes
    // keeps forged headers); recipient and quarantine edits it cannot do are not.
    std::erase_if(plan.ops, [&](const MilterOp& op) {
      return (OpFlags(op) & (SMFIF_ADDHDRS | SMFIF_CHGHDRS) & ~c->actions) != 0;
    });
    const unsigned long missing = OpFlags(plan) & ~c->actions;
    if (missing != 0) {
      g_rt->metrics->CountError(ErrorKind::kMilter);
      g_rt->metrics->CountFailMode(fail_tempfail);
      outcome += Cat(" fail_mode=", fail_tempfail ? "tempfail" : "accept",
                     " error=milter (", ActionName(plan.action),
                     " needs a capability not negotiated on this connection)");
      plan = PlanUnscanned(fail_tempfail, kDefaultTempfailReply, snap->plan_options.status_header,
                           "unscanned, milter, fail mode accept", s.headers(),
                           snap->plan_options);
      // Only what this connection can do.
      std::erase_if(plan.ops, [&](const MilterOp& op) { return OpFlags(op) & ~c->actions; });
    }
  }

  sfsistat rc = Disposition2Sfsistat(plan.disposition);
  if (plan.disposition == Disposition::kReject || plan.disposition == Disposition::kTempfail) {
    std::string text = EscapePercent(plan.text);
    if (smfi_setreply(ctx, const_cast<char*>(plan.code.c_str()),
                      plan.enhanced_code.empty() ? nullptr
                                                 : const_cast<char*>(plan.enhanced_code.c_str()),
                      const_cast<char*>(text.c_str())) != MI_SUCCESS) {
      g_rt->metrics->CountError(ErrorKind::kMilter);
      outcome += " setreply=failed";
    }
  } else if (plan.disposition == Disposition::kContinue) {
    std::string failed;
    if (!Apply(ctx, plan, &failed)) {
      // An edit the MTA refused (e.g. an action this connection did not negotiate because a
      // reload added it): the verdict stands, the failure is logged and counted.
      g_rt->metrics->CountError(ErrorKind::kMilter);
      outcome += Cat(" failed_edits=", failed);
    }
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  g_rt->metrics->CountMessage(plan.action, seconds, scanned.rules,
                              static_cast<int>(std::hash<std::thread::id>()(std::this_thread::get_id())));
  // The one line per message.
  std::string rules;
  for (size_t i = 0; i < scanned.rules.size() && i < 5; ++i) {
    rules += Cat(i == 0 ? "" : ",", scanned.rules[i], "(", FormatScore(scanned.rule_scores[i]), ")");
  }
  const Envelope& e = s.envelope();
  Log::Info(Cat("qid=", e.queue_id.empty() ? "-" : e.queue_id, " client=",
                e.client_ip.empty() ? "-" : e.client_ip, " from=<", e.mail_from, "> rcpts=",
                e.rcpt_to.size(), " action=", ActionName(plan.action),
                have_scan ? Cat(" score=", FormatScore(scanned.score), " rules=",
                                rules.empty() ? "-" : rules, " by=", scanned.decided_by)
                          : std::string(),
                outcome, " ms=", FormatMs(seconds)));
  s.EndMessage();
  return rc;
}

sfsistat OnAbort(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  if (c != nullptr) {
    c->session.EndMessage();
    // Abort has no reply: the MTA's next command (MAIL) must not wait for our ACK.
    if (c->ack_fd >= 0) PushAck(c->ack_fd);
  }
  return SMFIS_CONTINUE;
}

sfsistat OnClose(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  if (c != nullptr) {
    smfi_setpriv(ctx, nullptr);
    delete c;
    g_rt->metrics->ConnectionClosed();
  }
  return SMFIS_CONTINUE;
}

}  // namespace

unsigned long MilterActionFlags(uint32_t possible) {
  auto has = [&](Action a) { return (possible >> static_cast<unsigned>(a)) & 1u; };
  // Headers: the status header on every message, forged copies removed.
  unsigned long f = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
  if (has(Action::kReject) || has(Action::kDiscard) || has(Action::kRedirect)) f |= SMFIF_DELRCPT;
  if (has(Action::kRedirect)) f |= SMFIF_ADDRCPT;
  if (has(Action::kQuarantine)) f |= SMFIF_QUARANTINE;
  return f;
}

absl::Status RegisterMilter(MilterRuntime* runtime) {
  g_rt = runtime;
  static char name[] = "veto";
  struct smfiDesc desc = {};
  desc.xxfi_name = name;
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_flags = kAllActions;
  desc.xxfi_connect = OnConnect;
  desc.xxfi_helo = OnHelo;
  desc.xxfi_envfrom = OnEnvFrom;
  desc.xxfi_envrcpt = OnEnvRcpt;
  desc.xxfi_header = OnHeader;
  desc.xxfi_eoh = OnEoh;
  desc.xxfi_body = OnBody;
  desc.xxfi_eom = OnEom;
  desc.xxfi_abort = OnAbort;
  desc.xxfi_close = OnClose;
  desc.xxfi_unknown = nullptr;
  desc.xxfi_data = OnData;
  desc.xxfi_negotiate = OnNegotiate;
  if (smfi_register(desc) != MI_SUCCESS) return absl::InternalError("smfi_register failed");
  return absl::OkStatus();
}

}  // namespace veto::daemon
