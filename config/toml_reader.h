// veto/config/toml_reader.h — schema-checked reading of TOML tables, with file:line errors.
//
// Internal to config/. A Section is a view of one key path ("operator.deny") over one or more
// TOML tables: the same table may be written in several files (includes), and the Section
// sees them merged. Getters read one key each, check its type and range, and remember the
// key as known; Finish() then reports every key nobody asked for as unknown, with a "did you
// mean" hint from the known keys. Every problem goes to the shared Problems list as
//
//   file:line: key.path: problem (got X, expected Y)
//
// so all problems of all files are reported at once.
//
//   Section rules = root.Table("rules");
//   rules.Bool("default_rules", &c.rules.default_rules);
//   rules.Int("score_set", &c.rules.score_set, 0, 3);
//   rules.Finish();
//
// Sub-sections are passed by reference: a Section remembers the keys asked of it, so a copy
// would forget them and Finish would call them unknown.
#ifndef VETO_CONFIG_TOML_READER_H_
#define VETO_CONFIG_TOML_READER_H_

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
// toml++ 3.3 asserts preconditions that its parser then handles as ordinary syntax errors
// (e.g. the table header "[[*]" aborts in parse_key), and under clang with NDEBUG turns them
// into __builtin_assume — undefined behaviour on hostile input. Make them no-ops, so the
// parser's own error paths report. (Found by fuzz/config_fuzzer.cc.)
#pragma push_macro("NDEBUG")
#undef NDEBUG
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/toml.h>
#pragma pop_macro("NDEBUG")

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace veto::config {

// Every problem found while loading, and where each key path was written.
class Problems {
 public:
  // Records "where: path: problem" (where = "file:line" or "" when unknown).
  void Add(std::string where, std::string_view path, std::string_view problem);
  // Records a problem for `path` at the place that key (or its closest written parent) was
  // written — for problems found after reading, e.g. by policy validation.
  void AddForPath(std::string_view path, std::string_view problem);
  void Remember(const std::string& path, std::string where);

  bool empty() const { return lines_.empty(); }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
  std::map<std::string, std::string, std::less<>> where_;  // key path → "file:line"
};

// "file:line" of a TOML node or key.
std::string Where(const toml::source_region& s);

// `v` for messages: "string \"abc\"", "integer 7", "table", ...
std::string Describe(const toml::node& v);

// The closest of `candidates` to `word` by edit distance, if close enough to be a likely typo.
std::optional<std::string> DidYouMean(std::string_view word,
                                      const std::vector<std::string>& candidates);

class Section {
 public:
  Section(Problems* problems, std::string path, std::vector<const toml::table*> tables);

  const std::string& path() const { return path_; }
  bool present() const { return !tables_.empty(); }
  std::string Path(std::string_view key) const;
  // "file:line" of the section (its first table), or "".
  std::string where() const;

  // Scalars: leave *out untouched when the key is absent or wrong (problem recorded).
  bool Bool(std::string_view key, bool* out);
  bool Bool(std::string_view key, std::optional<bool>* out);
  bool Int(std::string_view key, int64_t* out, int64_t min, int64_t max);
  bool Int(std::string_view key, int* out, int64_t min, int64_t max);
  bool Size(std::string_view key, size_t* out, int64_t min, int64_t max);
  bool Double(std::string_view key, double* out, double min, double max);
  bool Double(std::string_view key, std::optional<double>* out, double min, double max);
  bool String(std::string_view key, std::string* out);
  bool String(std::string_view key, std::optional<std::string>* out);
  // A string that must be one of `allowed`.
  bool Enum(std::string_view key, std::string* out, std::initializer_list<std::string_view> allowed);
  // A string or an array of strings.
  bool StringList(std::string_view key, std::vector<std::string>* out);

  // The raw node (marks the key known). Null if absent. Reports a key set in two files.
  const toml::node* Node(std::string_view key);
  // A sub-table (possibly absent: then present() is false). Wrong type → problem.
  Section Table(std::string_view key);
  // An array of tables ([[key]] or key = [{...}, ...]), concatenated across files; each
  // element's path is key[i].
  std::vector<Section> TableArray(std::string_view key);
  // Every key of the section's tables, in file order (for tables keyed by name); marks all
  // of them known.
  std::vector<std::string> Keys();

  // Problem at the key's place (or the section's when the key is absent).
  void Problem(std::string_view key, std::string_view problem);
  void ProblemAt(const toml::node& n, std::string_view path, std::string_view problem);
  // Reports every key that no getter asked for.
  void Finish();

 private:
  Problems* problems_;
  std::string path_;
  std::vector<const toml::table*> tables_;
  std::vector<std::string> known_;
  bool all_known_ = false;
};

}  // namespace veto::config

#endif  // VETO_CONFIG_TOML_READER_H_
