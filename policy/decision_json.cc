#include "policy/decision_json.h"

namespace veto::policy {
namespace {

std::string_view MatchKindName(MatchKind k) {
  switch (k) {
    case MatchKind::kRule:
      return "rule";
    case MatchKind::kClassifier:
      return "classifier";
    case MatchKind::kSignal:
      return "signal";
  }
  return "unknown";
}

void WriteHit(const PolicyHit& h, bool with_score, JsonWriter* w) {
  w->BeginObject();
  w->Key("layer");
  w->String(LayerName(h.layer));
  w->Key("kind");
  w->String(RuleKindName(h.kind));
  w->Key("rule");
  w->String(h.rule);
  w->Key("entry");
  w->String(h.entry);
  if (with_score) {
    w->Key("score");
    w->Number(h.score);
  }
  w->EndObject();
}

bool HitHasScore(const PolicyHit& h) {
  return h.kind == RuleKind::kThreshold || h.kind == RuleKind::kKeyword ||
         h.kind == RuleKind::kRegex;
}

void WriteRecipient(const RecipientDecision& r, JsonWriter* w) {
  w->BeginObject();
  w->Key("recipient");
  w->String(r.recipient);
  if (!r.tenant.empty()) {
    w->Key("tenant");
    w->String(r.tenant);
  }
  w->Key("subscriber");
  w->Bool(r.subscriber);
  w->Key("subscriber_enabled");
  w->Bool(r.subscriber_enabled);
  w->Key("content_inspected");
  w->Bool(r.content_inspected);
  w->Key("action");
  w->String(ActionName(r.action));
  w->Key("report");
  w->Bool(r.report);
  w->Key("decided_by");
  WriteHit(r.decided_by, HitHasScore(r.decided_by), w);
  w->Key("score");
  w->Number(r.score);
  w->Key("thresholds");
  w->BeginArray();
  for (const Threshold& t : r.thresholds) {
    w->BeginObject();
    w->Key("min");
    w->Number(t.min);
    w->Key("action");
    w->String(ActionName(t.action));
    if (t.report) {
      w->Key("report");
      w->Bool(true);
    }
    w->Key("layer");
    w->String(LayerName(t.layer));
    w->EndObject();
  }
  w->EndArray();
  w->Key("default_action");
  w->String(ActionName(r.default_action));
  w->Key("hits");
  w->BeginArray();
  for (const PolicyHit& h : r.hits) WriteHit(h, HitHasScore(h), w);
  w->EndArray();
  if (!r.reply.code.empty()) {
    w->Key("reply");
    w->BeginObject();
    w->Key("code");
    w->String(r.reply.code);
    w->Key("enhanced_code");
    w->String(r.reply.enhanced_code);
    w->Key("text");
    w->String(r.reply.text);
    w->EndObject();
  }
  if (!r.add_headers.empty()) {
    w->Key("headers");
    w->BeginArray();
    for (const HeaderEdit& h : r.add_headers) {
      w->BeginObject();
      w->Key("name");
      w->String(h.name);
      w->Key("value");
      w->String(h.value);
      w->EndObject();
    }
    w->EndArray();
  }
  if (!r.prefix.empty()) {
    w->Key("prefix");
    w->String(r.prefix);
  }
  if (!r.redirect_to.empty()) {
    w->Key("redirect_to");
    w->String(r.redirect_to);
  }
  if (!r.note.empty()) {
    w->Key("note");
    w->String(r.note);
  }
  w->EndObject();
}

}  // namespace

void WriteDecisionFields(const Decision& d, JsonWriter* w) {
  w->Key("channel");
  w->String(d.channel == Channel::kEmail ? "email" : "sms");
  w->Key("action");
  w->String(ActionName(d.action));
  w->Key("score");
  w->Number(d.evidence_score);
  w->Key("rules");
  w->BeginArray();
  for (const Match& m : d.evidence) w->String(m.id);
  w->EndArray();
  w->Key("evidence");
  w->BeginArray();
  for (const Match& m : d.evidence) {
    w->BeginObject();
    w->Key("id");
    w->String(m.id);
    w->Key("score");
    w->Number(m.score);
    w->Key("kind");
    w->String(MatchKindName(m.kind));
    w->Key("count");
    w->Int(m.count);
    if (m.probability >= 0) {
      w->Key("probability");
      w->Number(m.probability);
    }
    w->EndObject();
  }
  w->EndArray();
  w->Key("recipients");
  w->BeginArray();
  for (const RecipientDecision& r : d.recipients) WriteRecipient(r, w);
  w->EndArray();
}

std::string DecisionToJson(const Decision& d, int indent) {
  JsonWriter w(indent);
  w.BeginObject();
  WriteDecisionFields(d, &w);
  w.EndObject();
  return w.Take();
}

}  // namespace veto::policy
