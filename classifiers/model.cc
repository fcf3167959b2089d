// The model file is small and sparse (only features seen in training), so it is parsed into
// a ModelData rather than mmapped: the Classifier needs a dense table indexed by feature for
// its O(1) lookups anyway, and building it from the sparse entries takes milliseconds.
#include "classifiers/model.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/strings.h"

namespace veto::classifiers {
namespace {

constexpr std::string_view kMagic = "VETOCLF\n";

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string Num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= s_.size()) return false;
      auto b = static_cast<unsigned char>(s_[pos_++]);
      *v |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return true;
    }
    return false;
  }
  bool Fixed(uint64_t* v, int bytes) {
    if (s_.size() - pos_ < static_cast<size_t>(bytes)) return false;
    *v = 0;
    for (int i = 0; i < bytes; ++i) *v |= uint64_t{static_cast<unsigned char>(s_[pos_ + i])} << (8 * i);
    pos_ += bytes;
    return true;
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return s_.size() - pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string_view ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kNaiveBayes: return "nb";
    case ModelKind::kLogistic: return "lr";
    case ModelKind::kCombined: return "combined";
  }
  return "?";
}

bool ParseModelKind(std::string_view name, ModelKind* kind) {
  if (name == "nb") *kind = ModelKind::kNaiveBayes;
  else if (name == "lr") *kind = ModelKind::kLogistic;
  else if (name == "combined") *kind = ModelKind::kCombined;
  else return false;
  return true;
}

std::string SerializeModel(const ModelData& m) {
  const TokenizerOptions& t = m.tokenizer;
  const ModelParams& p = m.params;
  std::string out(kMagic);
  out += Cat("format ", kModelFormatVersion, "\n", "name ", m.name, "\n", "channel ",
             t.channel == Channel::kEmail ? "email" : "sms", "\n", "feature_bits ",
             t.feature_bits, "\n", "word_bigrams ", t.word_bigrams ? 1 : 0, "\n", "char_ngram ",
             t.char_ngram, "\n", "char_ngram_max_bytes ", t.char_ngram_max_bytes, "\n",
             "char_ngram_min_word ", t.char_ngram_min_word, "\n",
             "max_body_bytes ", t.max_body_bytes, "\n", "kind ", ModelKindName(p.kind), "\n",
             "nb_strength ", Num(p.nb_strength), "\n", "nb_unknown ", Num(p.nb_unknown), "\n",
             "nb_min_dev ", Num(p.nb_min_dev), "\n", "nb_max_tokens ", p.nb_max_tokens, "\n",
             "ftrl_alpha ", Num(p.ftrl_alpha), "\n", "ftrl_beta ", Num(p.ftrl_beta), "\n",
             "ftrl_l1 ", Num(p.ftrl_l1), "\n", "ftrl_l2 ", Num(p.ftrl_l2), "\n", "epochs ",
             p.epochs, "\n", "spam_messages ", m.spam_messages, "\n", "ham_messages ",
             m.ham_messages, "\n", "bias ", Num(m.bias), "\n", "header_words ",
             t.header_words ? 1 : 0, "\n", "end\n");
  PutFixed(&out, m.entries.size(), 4);
  uint32_t prev = 0;
  for (const FeatureEntry& e : m.entries) {
    PutVarint(&out, e.index - prev);
    prev = e.index;
    PutVarint(&out, e.spam);
    PutVarint(&out, e.ham);
    uint32_t bits;
    std::memcpy(&bits, &e.weight, 4);
    PutFixed(&out, bits, 4);
  }
  PutFixed(&out, Fnv1a(out), 8);
  return out;
}

absl::StatusOr<ModelData> ParseModel(std::string_view bytes, std::string_view source) {
  auto loss = [&](std::string_view what) {
    return absl::DataLossError(Cat(source, ": damaged model file: ", what));
  };
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(Cat(source, ": ", what));
  };
  if (!bytes.starts_with(kMagic)) return bad("not a veto model file (bad magic)");
  if (bytes.size() < kMagic.size() + 8) return loss("truncated");
  {
    std::string_view body = bytes.substr(0, bytes.size() - 8);
    Reader r(bytes.substr(bytes.size() - 8));
    uint64_t sum = 0;
    r.Fixed(&sum, 8);
    if (sum != Fnv1a(body)) return loss("checksum mismatch (truncated or corrupted)");
  }
  size_t end_pos = bytes.find("\nend\n");
  if (end_pos == std::string_view::npos) return loss("header has no 'end' line");
  std::string_view header = bytes.substr(kMagic.size(), end_pos + 1 - kMagic.size());
  std::string_view rest = bytes.substr(end_pos + 5, bytes.size() - 8 - (end_pos + 5));

  static constexpr std::string_view kKeys[] = {
      "format",      "name",          "channel",       "feature_bits", "word_bigrams",
      "char_ngram",  "char_ngram_max_bytes", "max_body_bytes", "kind", "nb_strength",
      "nb_unknown",  "nb_min_dev",    "nb_max_tokens", "ftrl_alpha",   "ftrl_beta",
      "ftrl_l1",     "ftrl_l2",       "epochs",        "spam_messages", "ham_messages",
      "bias",        "header_words", "char_ngram_min_word"};
  constexpr size_t kNumKeys = sizeof kKeys / sizeof kKeys[0];
  std::string_view values[kNumKeys];
  bool seen[kNumKeys] = {};
  size_t line_no = 1;
  for (std::string_view line : Split(header.substr(0, header.size() - 1), '\n')) {
    ++line_no;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return bad(Cat("header line ", line_no, ": no value"));
    std::string_view key = line.substr(0, sp);
    size_t k = 0;
    while (k < kNumKeys && kKeys[k] != key) ++k;
    if (k == kNumKeys) {
      return bad(Cat("header line ", line_no, ": unknown key '", key.substr(0, 40), "'"));
    }
    if (seen[k]) return bad(Cat("header line ", line_no, ": duplicate key '", key, "'"));
    seen[k] = true;
    values[k] = line.substr(sp + 1);
  }
  constexpr size_t kMinWordKey = kNumKeys - 1;  // new in format 2
  const bool format1 = seen[0] && values[0] == "1";
  if (format1 && !seen[kMinWordKey]) {
    seen[kMinWordKey] = true;
    values[kMinWordKey] = "0";  // format 1: n-grams of every word
  }
  for (size_t k = 0; k < kNumKeys; ++k) {
    if (!seen[k]) return bad(Cat("header: missing key '", kKeys[k], "'"));
  }
  auto get_int = [&](size_t k, long long lo, long long hi, long long* v) -> absl::Status {
    if (!ParseInt(values[k], v) || *v < lo || *v > hi) {
      return bad(Cat("header: ", kKeys[k], ": expected an integer in ", lo, "..", hi, " (got '",
                     values[k].substr(0, 40), "')"));
    }
    return absl::OkStatus();
  };
  auto get_double = [&](size_t k, double lo, double hi, double* v) -> absl::Status {
    if (!ParseDouble(values[k], v) || !std::isfinite(*v) || *v < lo || *v > hi) {
      return bad(Cat("header: ", kKeys[k], ": expected a number in ", lo, "..", hi, " (got '",
                     values[k].substr(0, 40), "')"));
    }
    return absl::OkStatus();
  };
  ModelData m;
  long long v = 0;
  absl::Status s;
  s = get_int(0, 0, 1 << 30, &v);
  if (!s.ok()) return s;
  if (v != kModelFormatVersion && v != 1) {
    return bad(Cat("model format ", v, " is not supported (this veto reads format ",
                   kModelFormatVersion, "); retrain with `veto train`"));
  }
  if (!ValidName(values[1])) return bad("header: name: expected 1-64 of [A-Za-z0-9_.-]");
  m.name = std::string(values[1]);
  if (values[2] == "email") {
    m.tokenizer.channel = Channel::kEmail;
  } else if (values[2] == "sms") {
    m.tokenizer.channel = Channel::kSms;
  } else {
    return bad(Cat("header: channel: expected email or sms (got '", values[2].substr(0, 40), "')"));
  }
  struct IntField { size_t k; long long lo, hi; uint32_t* out; };
  uint32_t bigrams = 0;
  IntField ints[] = {{3, 10, 24, &m.tokenizer.feature_bits},
                     {4, 0, 1, &bigrams},
                     {5, 0, 8, &m.tokenizer.char_ngram},
                     {6, 0, 1 << 30, &m.tokenizer.char_ngram_max_bytes},
                     {kMinWordKey, 0, 1 << 30, &m.tokenizer.char_ngram_min_word},
                     {7, 1, 1 << 30, &m.tokenizer.max_body_bytes},
                     {12, 1, 1 << 20, &m.params.nb_max_tokens},
                     {17, 0, 1000, &m.params.epochs}};
  for (const IntField& f : ints) {
    s = get_int(f.k, f.lo, f.hi, &v);
    if (!s.ok()) return s;
    *f.out = static_cast<uint32_t>(v);
  }
  m.tokenizer.word_bigrams = bigrams != 0;
  s = get_int(21, 0, 1, &v);
  if (!s.ok()) return s;
  m.tokenizer.header_words = v != 0;
  s = m.tokenizer.Validate();
  if (!s.ok()) return bad(std::string_view(s.message().data(), s.message().size()));
  if (!ParseModelKind(values[8], &m.params.kind)) {
    return bad(Cat("header: kind: expected nb, lr or combined (got '", values[8].substr(0, 40), "')"));
  }
  struct DoubleField { size_t k; double lo, hi; double* out; };
  DoubleField doubles[] = {{9, 1e-9, 1e6, &m.params.nb_strength},
                           {10, 0, 1, &m.params.nb_unknown},
                           {11, 0, 0.5, &m.params.nb_min_dev},
                           {13, 1e-9, 1e6, &m.params.ftrl_alpha},
                           {14, 0, 1e6, &m.params.ftrl_beta},
                           {15, 0, 1e6, &m.params.ftrl_l1},
                           {16, 0, 1e6, &m.params.ftrl_l2},
                           {20, -1e6, 1e6, &m.bias}};
  for (const DoubleField& f : doubles) {
    s = get_double(f.k, f.lo, f.hi, f.out);
    if (!s.ok()) return s;
  }
  constexpr long long kMaxMessages = 1LL << 40;
  s = get_int(18, 0, kMaxMessages, &v);
  if (!s.ok()) return s;
  m.spam_messages = v;
  s = get_int(19, 0, kMaxMessages, &v);
  if (!s.ok()) return s;
  m.ham_messages = v;

  Reader r(rest);
  uint64_t count = 0;
  if (!r.Fixed(&count, 4)) return loss("truncated entry count");
  uint64_t space = uint64_t{1} << m.tokenizer.feature_bits;
  if (count > space) return loss(Cat("entry count ", count, " exceeds the feature space"));
  // Each entry takes at least 7 bytes: reject a count the data cannot hold before reserving.
  if (count * 7 > r.remaining()) return loss("entry count larger than the data");
  m.entries.reserve(count);
  uint64_t index = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t delta, spam, ham, wbits;
    if (!r.Varint(&delta) || !r.Varint(&spam) || !r.Varint(&ham) || !r.Fixed(&wbits, 4)) {
      return loss(Cat("entry ", i, " truncated"));
    }
    if (i > 0 && delta == 0) return loss(Cat("entry ", i, ": duplicate feature index"));
    index += delta;
    if (index >= space) return loss(Cat("entry ", i, ": feature index out of range"));
    if (spam > m.spam_messages || ham > m.ham_messages) {
      return loss(Cat("entry ", i, ": count larger than the message count"));
    }
    FeatureEntry e;
    e.index = static_cast<uint32_t>(index);
    e.spam = static_cast<uint32_t>(spam);
    e.ham = static_cast<uint32_t>(ham);
    uint32_t b32 = static_cast<uint32_t>(wbits);
    std::memcpy(&e.weight, &b32, 4);
    if (!std::isfinite(e.weight) || std::fabs(e.weight) > 1e6) {
      return loss(Cat("entry ", i, ": weight not finite"));
    }
    m.entries.push_back(e);
  }
  if (r.remaining() != 0) return loss("trailing bytes after the entries");
  return m;
}

absl::StatusOr<ModelData> ReadModelFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int err = errno;
    std::string msg = Cat(path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg)
           : err == EACCES ? absl::PermissionDeniedError(msg)
                           : absl::UnavailableError(msg);
  }
  std::string bytes;
  char buf[1 << 16];
  size_t n;
  constexpr size_t kMaxModelBytes = size_t{1} << 30;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    bytes.append(buf, n);
    if (bytes.size() > kMaxModelBytes) {
      std::fclose(f);
      return absl::InvalidArgumentError(Cat(path, ": larger than 1 GB, not a model file"));
    }
  }
  bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) return absl::UnavailableError(Cat(path, ": read error"));
  return ParseModel(bytes, path);
}

absl::Status WriteModelFile(const std::string& path, const ModelData& model) {
  std::string bytes = SerializeModel(model);
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return absl::UnavailableError(Cat(tmp, ": ", std::strerror(errno)));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(Cat(path, ": cannot write model file"));
  }
  return absl::OkStatus();
}

}  // namespace veto::classifiers
