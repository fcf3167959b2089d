// Fuzzes the classifier model-file parser (classifiers/model.h): any bytes must give a model
// or a clear error, never a crash, and a model that parses must load and classify.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "classifiers/classifier.h"
#include "classifiers/model.h"

namespace {

void Check(std::string_view bytes) {
  auto model = veto::classifiers::ParseModel(bytes, "fuzz");
  if (!model.ok()) return;
  auto c = veto::classifiers::Classifier::Create(*model, {});
  if (!c.ok()) return;
  veto::Message m;
  m.channel = model->tokenizer.channel;
  m.body = "\nwin a free prize now";
  m.normalized_body = m.body;
  veto::Match match = (*c)->Classify(m);
  if (!(match.probability >= 0 && match.probability <= 1)) __builtin_trap();
  (void)veto::classifiers::SerializeModel(*model);
}

}  // namespace

// Each input is tried as is, and with a valid checksum appended (as SerializeModel writes
// it), so mutations reach the header and entry parsing behind the checksum check.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
  Check(bytes);
  return 0;
}
