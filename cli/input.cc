#include "cli/input.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"

namespace veto::cli {
namespace {

namespace fs = std::filesystem;

absl::Status ReadStream(std::FILE* f, size_t max_bytes, std::string* out) {
  out->clear();
  char buf[1 << 16];
  size_t n;
  while (out->size() <= max_bytes && (n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    size_t room = max_bytes + 1 - out->size();
    out->append(buf, std::min(n, room));
  }
  if (std::ferror(f)) return absl::DataLossError("read error");
  return absl::OkStatus();
}

absl::Status ReadFile(const std::string& path, size_t max_bytes, std::string* out) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  absl::Status s = ReadStream(f.get(), max_bytes, out);
  if (!s.ok()) return absl::DataLossError(absl::StrCat(path, ": ", s.message()));
  return absl::OkStatus();
}

absl::Status ForEachInArchive(const std::string& path, const MessageCallback& fn,
                              size_t max_bytes) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), &archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read archive: ", archive_error_string(a.get())));
  }
  archive_entry* entry;
  InputMessage m;
  int r;
  while ((r = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK) {
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    m.name = absl::StrCat(path, ":", archive_entry_pathname(entry));
    m.bytes.clear();
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
      if (m.bytes.size() <= max_bytes) {
        m.bytes.append(buf, std::min<size_t>(n, max_bytes + 1 - m.bytes.size()));
      }
    }
    if (n < 0) {
      return absl::DataLossError(
          absl::StrCat(m.name, ": archive data error: ", archive_error_string(a.get())));
    }
    absl::Status s = fn(m);
    if (!s.ok()) return s;
  }
  if (r != ARCHIVE_EOF) {
    return absl::DataLossError(
        absl::StrCat(path, ": archive error: ", archive_error_string(a.get())));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsArchivePath(std::string_view path) {
  return path.ends_with(".tar") || path.ends_with(".tar.gz") || path.ends_with(".tgz") ||
         path.ends_with(".tar.bz2") || path.ends_with(".tar.xz");
}

absl::Status ForEachMessage(std::string_view path_view, const MessageCallback& fn,
                            size_t max_bytes) {
  std::string path(path_view);
  InputMessage m;
  if (path == "-") {
    m.name = "-";
    absl::Status s = ReadStream(stdin, max_bytes, &m.bytes);
    if (!s.ok()) return absl::DataLossError(absl::StrCat("stdin: ", s.message()));
    return fn(m);
  }
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  if (fs::is_directory(st)) {
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file(ec)) files.push_back(it->path().string());
    }
    if (ec) return absl::InvalidArgumentError(absl::StrCat(path, ": ", ec.message()));
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      absl::Status s = IsArchivePath(f) ? ForEachInArchive(f, fn, max_bytes)
                                        : ReadFile(f, max_bytes, &m.bytes);
      if (!s.ok()) return s;
      if (!IsArchivePath(f)) {
        m.name = f;
        s = fn(m);
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }
  if (IsArchivePath(path)) return ForEachInArchive(path, fn, max_bytes);
  absl::Status s = ReadFile(path, max_bytes, &m.bytes);
  if (!s.ok()) return s;
  m.name = path;
  return fn(m);
}

}  // namespace veto::cli
