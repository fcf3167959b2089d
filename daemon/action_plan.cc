#include "daemon/action_plan.h"

#include <algorithm>
#include <cstdio>

#include "core/strings.h"

namespace veto::daemon {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Header values and replies go out on one SMTP line: no CR/LF/NUL, whatever the policy held.
std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(c == '\r' || c == '\n' || c == '\0' ? ' ' : c);
  return out;
}

std::string FormatScore(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", s);
  return buf;
}

// Deletes every copy of every header in `names` that arrived with the message. Highest index
// first, so a delete never shifts the index of one still to come (the MTAs differ in whether
// indexes count deleted headers).
void DeleteForged(std::span<const SeenHeader> headers, const std::vector<std::string>& names,
                  std::vector<MilterOp>* ops) {
  std::vector<std::string> done;
  for (const std::string& name : names) {
    if (name.empty()) continue;
    if (std::any_of(done.begin(), done.end(),
                    [&](const std::string& d) { return EqualsIgnoreCase(d, name); })) {
      continue;
    }
    done.push_back(name);
    int count = 0;
    std::string as_sent;
    for (const SeenHeader& h : headers) {
      if (EqualsIgnoreCase(h.name, name)) {
        ++count;
        as_sent = h.name;
      }
    }
    for (int i = count; i >= 1; --i) {
      ops->push_back({MilterOp::Kind::kDeleteHeader, as_sent, i, ""});
    }
  }
}

void SetReply(const SmtpReply& r, const SmtpReply& fallback, char klass, MilterPlan* plan) {
  const bool ok = r.code.size() == 3 && r.code[0] == klass &&
                  std::all_of(r.code.begin(), r.code.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                  (r.enhanced_code.empty() || r.enhanced_code[0] == klass);
  const SmtpReply& use = ok ? r : fallback;
  plan->code = std::string(use.code);
  plan->enhanced_code = std::string(use.enhanced_code);
  plan->text = OneLine(use.text.empty() ? fallback.text : use.text);
}

bool Refused(Action a) { return a == Action::kReject || a == Action::kDiscard; }

std::vector<std::string> OwnHeaderNames(const Decision& d, const PlanOptions& o) {
  std::vector<std::string> names;
  if (!o.status_header.empty()) names.push_back(o.status_header);
  for (const std::string& n : o.own_headers) names.push_back(n);
  for (const RecipientDecision& r : d.recipients) {
    for (const HeaderEdit& h : r.add_headers) names.emplace_back(h.name);
  }
  return names;
}

}  // namespace

std::string_view DispositionName(Disposition d) {
  switch (d) {
    case Disposition::kContinue:
      return "continue";
    case Disposition::kReject:
      return "reject";
    case Disposition::kTempfail:
      return "tempfail";
    case Disposition::kDiscard:
      return "discard";
  }
  return "unknown";
}

std::string_view MilterOpKindName(MilterOp::Kind k) {
  switch (k) {
    case MilterOp::Kind::kDeleteHeader:
      return "delete_header";
    case MilterOp::Kind::kChangeHeader:
      return "change_header";
    case MilterOp::Kind::kAddHeader:
      return "add_header";
    case MilterOp::Kind::kDeleteRcpt:
      return "delete_rcpt";
    case MilterOp::Kind::kAddRcpt:
      return "add_rcpt";
    case MilterOp::Kind::kQuarantine:
      return "quarantine";
  }
  return "unknown";
}

MilterPlan PlanActions(const PlanInput& in) {
  static const PlanOptions kNoOptions;
  const PlanOptions& o = in.options != nullptr ? *in.options : kNoOptions;
  MilterPlan plan;
  if (in.decision == nullptr || in.decision->recipients.empty()) {
    // Nothing decided (cannot happen with policy/): deliver, marked as such.
    if (!o.status_header.empty()) {
      DeleteForged(in.headers, {o.status_header}, &plan.ops);
      plan.ops.push_back({MilterOp::Kind::kAddHeader, o.status_header, 0, "accept, score=0.00"});
    }
    return plan;
  }
  const Decision& d = *in.decision;
  const auto& rs = d.recipients;

  // 1. Any tempfail: the whole message is retried later, for every recipient.
  for (const RecipientDecision& r : rs) {
    if (r.action == Action::kTempfail) {
      plan.disposition = Disposition::kTempfail;
      plan.action = Action::kTempfail;
      SetReply(r.reply, kDefaultTempfailReply, '4', &plan);
      return plan;
    }
  }

  // 2. Recipients that keep the message, and the strictest action among them.
  std::vector<size_t> kept, refused;
  for (size_t i = 0; i < rs.size(); ++i) (Refused(rs[i].action) ? refused : kept).push_back(i);

  if (kept.empty()) {
    for (size_t i : refused) {
      if (rs[i].action == Action::kReject) {
        plan.disposition = Disposition::kReject;
        plan.action = Action::kReject;
        SetReply(rs[i].reply, kDefaultRejectReply, '5', &plan);
        return plan;
      }
    }
    plan.disposition = Disposition::kDiscard;
    plan.action = Action::kDiscard;
    return plan;
  }

  // The envelope recipient of decision i (none if the MTA gave no recipients).
  auto rcpt = [&](size_t i) -> std::string {
    return i < in.rcpts.size() ? in.rcpts[i] : std::string();
  };

  size_t top = kept[0];
  for (size_t i : kept) {
    if (ActionSeverity(rs[i].action) > ActionSeverity(rs[top].action)) top = i;
  }
  const RecipientDecision& t = rs[top];
  plan.action = t.action;

  // 3. Edits. Order: forged headers out, recipients, then our headers, then quarantine.
  DeleteForged(in.headers, OwnHeaderNames(d, o), &plan.ops);

  for (size_t i : refused) {
    std::string r = rcpt(i);
    if (!r.empty()) plan.ops.push_back({MilterOp::Kind::kDeleteRcpt, "", 0, r});
  }

  std::vector<std::string> added;
  for (size_t i : kept) {
    if (rs[i].action != Action::kRedirect) continue;
    std::string r = rcpt(i);
    if (!r.empty()) plan.ops.push_back({MilterOp::Kind::kDeleteRcpt, "", 0, r});
    if (rs[i].redirect_to.empty()) continue;
    std::string to = Cat("<", rs[i].redirect_to, ">");
    if (std::find(added.begin(), added.end(), to) == added.end()) added.push_back(to);
  }
  for (const std::string& to : added) plan.ops.push_back({MilterOp::Kind::kAddRcpt, "", 0, to});

  if (t.action == Action::kRewriteSubject && !t.prefix.empty()) {
    const SeenHeader* subject = nullptr;
    for (const SeenHeader& h : in.headers) {
      if (EqualsIgnoreCase(h.name, "Subject")) {
        subject = &h;
        break;
      }
    }
    const std::string prefix = OneLine(t.prefix);
    if (subject == nullptr) {
      plan.ops.push_back(
          {MilterOp::Kind::kAddHeader, "Subject", 0, std::string(StripWhitespace(prefix))});
    } else if (std::string_view(subject->value).substr(0, prefix.size()) != prefix) {
      plan.ops.push_back({MilterOp::Kind::kChangeHeader, subject->name, 1,
                          Cat(prefix, subject->value)});
    }
  }

  if (!o.status_header.empty()) {
    std::string v = Cat(ActionName(t.action), ", score=", FormatScore(t.score));
    if (!o.host.empty()) v = Cat(v, ", by ", o.host);
    plan.ops.push_back({MilterOp::Kind::kAddHeader, o.status_header, 0, v});
  }
  for (const HeaderEdit& h : t.add_headers) {
    plan.ops.push_back({MilterOp::Kind::kAddHeader, std::string(h.name), 0, OneLine(h.value)});
  }

  if (t.action == Action::kQuarantine) {
    plan.ops.push_back({MilterOp::Kind::kQuarantine, "", 0,
                        Cat("veto: score ", FormatScore(t.score), " (", t.decided_by.rule,
                            t.decided_by.entry.empty() ? "" : " ", t.decided_by.entry, ")")});
  }
  return plan;
}

MilterPlan PlanUnscanned(bool tempfail, const SmtpReply& reply, std::string_view header_name,
                         std::string_view header_value, std::span<const SeenHeader> headers,
                         const PlanOptions& options) {
  MilterPlan plan;
  if (tempfail) {
    plan.disposition = Disposition::kTempfail;
    plan.action = Action::kTempfail;
    SetReply(reply, kDefaultTempfailReply, '4', &plan);
    return plan;
  }
  std::vector<std::string> names = options.own_headers;
  if (!options.status_header.empty()) names.push_back(options.status_header);
  if (!header_name.empty()) names.emplace_back(header_name);
  DeleteForged(headers, names, &plan.ops);
  if (!header_name.empty()) {
    plan.ops.push_back(
        {MilterOp::Kind::kAddHeader, std::string(header_name), 0, OneLine(header_value)});
  }
  return plan;
}

}  // namespace veto::daemon
