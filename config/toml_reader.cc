#include "config/toml_reader.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"

namespace veto::config {

void Problems::Add(std::string where, std::string_view path, std::string_view problem) {
  std::string line = where.empty() ? "" : where + ": ";
  if (!path.empty()) line += Cat(path, ": ");
  line += problem;
  if (std::find(lines_.begin(), lines_.end(), line) == lines_.end()) lines_.push_back(line);
}

void Problems::Remember(const std::string& path, std::string where) {
  where_.emplace(path, std::move(where));
}

void Problems::AddForPath(std::string_view path, std::string_view problem) {
  // Walk up "a.b[2].c" → "a.b[2]" → "a.b" → "a" until a written key is found.
  std::string p(path);
  while (!p.empty()) {
    auto it = where_.find(p);
    if (it != where_.end()) {
      Add(it->second, path, problem);
      return;
    }
    size_t cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  Add("", path, problem);
}

std::string Where(const toml::source_region& s) {
  std::string file = s.path ? *s.path : std::string("<config>");
  return Cat(file, ":", static_cast<uint64_t>(s.begin.line));
}

namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (++n > 60) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "?";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string FormatDouble(double d) { return Cat(d); }

// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent
// transpositions ("emial" → "email") cost one each.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string Describe(const toml::node& v) {
  switch (v.type()) {
    case toml::node_type::string:
      return Cat("string ", Quote(v.as_string()->get()));
    case toml::node_type::integer:
      return Cat("integer ", v.as_integer()->get());
    case toml::node_type::floating_point:
      return Cat("float ", FormatDouble(v.as_floating_point()->get()));
    case toml::node_type::boolean:
      return v.as_boolean()->get() ? "boolean true" : "boolean false";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "nothing";
  }
}

std::optional<std::string> DidYouMean(std::string_view word,
                                      const std::vector<std::string>& candidates) {
  if (word.size() > 64) return std::nullopt;
  std::string lw = AsciiLower(word);
  std::optional<std::string> best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(lw, AsciiLower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

Section::Section(Problems* problems, std::string path, std::vector<const toml::table*> tables)
    : problems_(problems), path_(std::move(path)), tables_(std::move(tables)) {
  if (!tables_.empty() && !path_.empty()) problems_->Remember(path_, where());
}

std::string Section::Path(std::string_view key) const {
  return path_.empty() ? std::string(key) : Cat(path_, ".", key);
}

std::string Section::where() const {
  return tables_.empty() ? std::string() : Where(tables_.front()->source());
}

void Section::Problem(std::string_view key, std::string_view problem) {
  for (const toml::table* t : tables_) {
    if (const toml::node* n = t->get(key)) {
      problems_->Add(Where(n->source()), Path(key), problem);
      return;
    }
  }
  problems_->Add(where(), Path(key), problem);
}

void Section::ProblemAt(const toml::node& n, std::string_view path, std::string_view problem) {
  problems_->Add(Where(n.source()), path, problem);
}

const toml::node* Section::Node(std::string_view key) {
  known_.emplace_back(key);
  const toml::node* found = nullptr;
  for (const toml::table* t : tables_) {
    const toml::node* n = t->get(key);
    if (n == nullptr) continue;
    if (found == nullptr) {
      found = n;
      problems_->Remember(Path(key), Where(n->source()));
    } else if (!(found->is_table() && n->is_table()) &&
               !(found->is_array_of_tables() && n->is_array_of_tables())) {
      ProblemAt(*n, Path(key), Cat("set twice (first at ", Where(found->source()), ")"));
    }
  }
  return found;
}

namespace {
std::string Expected(std::string_view what) { return Cat(", expected ", what, ")"); }
}  // namespace

bool Section::Bool(std::string_view key, bool* out) {
  const toml::node* n = Node(key);
  if (n == nullptr) return false;
  if (!n->is_boolean()) {
    ProblemAt(*n, Path(key), Cat("wrong type (got ", Describe(*n), Expected("true or false")));
    return false;
  }
  *out = n->as_boolean()->get();
  return true;
}

bool Section::Bool(std::string_view key, std::optional<bool>* out) {
  bool b = false;
  if (!Bool(key, &b)) return false;
  *out = b;
  return true;
}

bool Section::Int(std::string_view key, int64_t* out, int64_t min, int64_t max) {
  const toml::node* n = Node(key);
  if (n == nullptr) return false;
  if (!n->is_integer()) {
    ProblemAt(*n, Path(key), Cat("wrong type (got ", Describe(*n), Expected("an integer")));
    return false;
  }
  int64_t v = n->as_integer()->get();
  if (v < min || v > max) {
    ProblemAt(*n, Path(key), Cat("out of range (got ", v, ", expected ", min, "..", max, ")"));
    return false;
  }
  *out = v;
  return true;
}

bool Section::Int(std::string_view key, int* out, int64_t min, int64_t max) {
  int64_t v = 0;
  if (!Int(key, &v, min, max)) return false;
  *out = static_cast<int>(v);
  return true;
}

bool Section::Size(std::string_view key, size_t* out, int64_t min, int64_t max) {
  int64_t v = 0;
  if (!Int(key, &v, min, max)) return false;
  *out = static_cast<size_t>(v);
  return true;
}

bool Section::Double(std::string_view key, double* out, double min, double max) {
  const toml::node* n = Node(key);
  if (n == nullptr) return false;
  double v = 0;
  if (n->is_integer()) {
    v = static_cast<double>(n->as_integer()->get());
  } else if (n->is_floating_point()) {
    v = n->as_floating_point()->get();
  } else {
    ProblemAt(*n, Path(key), Cat("wrong type (got ", Describe(*n), Expected("a number")));
    return false;
  }
  if (!std::isfinite(v) || v < min || v > max) {
    ProblemAt(*n, Path(key),
              Cat("out of range (got ", FormatDouble(v), ", expected ", FormatDouble(min), "..",
                  FormatDouble(max), ")"));
    return false;
  }
  *out = v;
  return true;
}

bool Section::Double(std::string_view key, std::optional<double>* out, double min, double max) {
  double v = 0;
  if (!Double(key, &v, min, max)) return false;
  *out = v;
  return true;
}

bool Section::String(std::string_view key, std::string* out) {
  const toml::node* n = Node(key);
  if (n == nullptr) return false;
  if (!n->is_string()) {
    ProblemAt(*n, Path(key), Cat("wrong type (got ", Describe(*n), Expected("a string")));
    return false;
  }
  *out = n->as_string()->get();
  return true;
}

bool Section::String(std::string_view key, std::optional<std::string>* out) {
  std::string s;
  if (!String(key, &s)) return false;
  *out = std::move(s);
  return true;
}

bool Section::Enum(std::string_view key, std::string* out,
                   std::initializer_list<std::string_view> allowed) {
  std::string v;
  if (!String(key, &v)) return false;
  std::vector<std::string> names(allowed.begin(), allowed.end());
  if (std::find(names.begin(), names.end(), v) == names.end()) {
    std::string hint;
    if (auto m = DidYouMean(v, names)) hint = Cat("; did you mean \"", *m, "\"?");
    Problem(key, Cat("unknown value (got ", Quote(v), ", expected one of ", Join(names, ", "),
                     hint, ")"));
    return false;
  }
  *out = v;
  return true;
}

bool Section::StringList(std::string_view key, std::vector<std::string>* out) {
  const toml::node* n = Node(key);
  if (n == nullptr) return false;
  if (n->is_string()) {
    *out = {std::string(n->as_string()->get())};
    return true;
  }
  if (!n->is_array()) {
    ProblemAt(*n, Path(key),
              Cat("wrong type (got ", Describe(*n), Expected("an array of strings")));
    return false;
  }
  std::vector<std::string> v;
  bool ok = true;
  const toml::array& a = *n->as_array();
  for (size_t i = 0; i < a.size(); ++i) {
    const toml::node& e = a[i];
    if (!e.is_string()) {
      ProblemAt(e, Cat(Path(key), "[", i, "]"),
                Cat("wrong type (got ", Describe(e), Expected("a string")));
      ok = false;
      continue;
    }
    problems_->Remember(Cat(Path(key), "[", i, "]"), Where(e.source()));
    v.emplace_back(e.as_string()->get());
  }
  if (ok) *out = std::move(v);
  return ok;
}

Section Section::Table(std::string_view key) {
  known_.emplace_back(key);
  std::vector<const toml::table*> subs;
  for (const toml::table* t : tables_) {
    const toml::node* n = t->get(key);
    if (n == nullptr) continue;
    if (!n->is_table()) {
      ProblemAt(*n, Path(key), Cat("wrong type (got ", Describe(*n), Expected("a table")));
      continue;
    }
    subs.push_back(n->as_table());
  }
  return Section(problems_, Path(key), std::move(subs));
}

std::vector<Section> Section::TableArray(std::string_view key) {
  known_.emplace_back(key);
  std::vector<Section> out;
  for (const toml::table* t : tables_) {
    const toml::node* n = t->get(key);
    if (n == nullptr) continue;
    if (!n->is_array()) {
      ProblemAt(*n, Path(key),
                Cat("wrong type (got ", Describe(*n), Expected("an array of tables")));
      continue;
    }
    problems_->Remember(Path(key), Where(n->source()));
    const toml::array& a = *n->as_array();
    for (size_t i = 0; i < a.size(); ++i) {
      std::string p = Cat(Path(key), "[", out.size(), "]");
      if (!a[i].is_table()) {
        ProblemAt(a[i], p, Cat("wrong type (got ", Describe(a[i]), Expected("a table")));
        continue;
      }
      out.emplace_back(problems_, p, std::vector<const toml::table*>{a[i].as_table()});
    }
  }
  return out;
}

std::vector<std::string> Section::Keys() {
  all_known_ = true;
  std::vector<std::string> keys;
  for (const toml::table* t : tables_) {
    for (auto&& [k, v] : *t) {
      std::string s(k.str());
      if (std::find(keys.begin(), keys.end(), s) == keys.end()) keys.push_back(s);
    }
  }
  return keys;
}

void Section::Finish() {
  if (all_known_) return;
  for (const toml::table* t : tables_) {
    for (auto&& [k, v] : *t) {
      std::string key(k.str());
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      std::string hint;
      if (auto m = DidYouMean(key, known_)) {
        hint = Cat(" (did you mean \"", *m, "\"?)");
      } else if (!known_.empty()) {
        std::vector<std::string> sorted = known_;
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        hint = Cat(" (expected one of ", Join(sorted, ", "), ")");
      }
      problems_->Add(Where(k.source()), Path(key), Cat("unknown key", hint));
    }
  }
}

}  // namespace veto::config
